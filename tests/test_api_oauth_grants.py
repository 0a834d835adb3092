"""Apps and the other OAuth endpoints on a real instance: registration and its refusals,
the password and client-credentials grants, client authentication, revocation, metadata."""

from __future__ import annotations

import asyncio
import base64
import dataclasses

import httpx
import pytest
from mastodon import Mastodon
from sqlmodel import func, select

from models.accounts import create_account
from models.tables import OAuthApp, OAuthToken
from tests.instances import Instance, running_instance

PASSWORD = "correct horse battery"
CALLBACK = "https://app.example/callback"


@pytest.fixture
async def inst(tmp_path, database_url):
    async with running_instance(tmp_path / "data", database_url) as instance:
        async with instance.state.sessions() as session:
            await create_account(session, "alice", password=PASSWORD, email="alice@example.org")
            await session.commit()
        yield instance


async def count(inst: Instance, table: type) -> int:
    async with inst.state.sessions() as session:
        return int((await session.exec(select(func.count()).select_from(table))).one())


async def register(client: httpx.AsyncClient, scopes: str = "read write follow") -> dict:
    answer = await client.post("/api/v1/apps", data={
        "client_name": "Test App", "redirect_uris": CALLBACK, "scopes": scopes})
    assert answer.status_code == 200, answer.text
    return answer.json()


def client_auth(app: dict) -> dict[str, str]:
    return {"client_id": app["client_id"], "client_secret": app["client_secret"]}


async def test_registering_an_app_answers_the_application_entity(inst: Instance) -> None:
    async with inst.client() as client:
        answer = await client.post("/api/v1/apps", json={
            "client_name": "Elk", "redirect_uris": [CALLBACK, "urn:ietf:wg:oauth:2.0:oob"],
            "scopes": "read write push", "website": "https://elk.example"})
    assert answer.status_code == 200, answer.text
    app = answer.json()
    assert app["name"] == "Elk" and app["website"] == "https://elk.example"
    assert app["scopes"] == ["read", "write", "push"]
    assert app["redirect_uris"] == [CALLBACK, "urn:ietf:wg:oauth:2.0:oob"]
    assert app["redirect_uri"] == CALLBACK + "\nurn:ietf:wg:oauth:2.0:oob"
    assert app["id"].isdigit() and app["client_id"] and app["client_secret"]
    assert app["client_secret_expires_at"] == 0 and "vapid_key" in app


async def test_an_app_without_scopes_gets_read(inst: Instance) -> None:
    async with inst.client() as client:
        answer = await client.post("/api/v1/apps", data={
            "client_name": "Bot", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob\n" + CALLBACK})
    assert answer.json()["scopes"] == ["read"]
    assert answer.json()["redirect_uris"] == ["urn:ietf:wg:oauth:2.0:oob", CALLBACK]


@pytest.mark.parametrize("form, problem", [
    ({"redirect_uris": CALLBACK}, "name can't be blank"),
    ({"client_name": "x" * 61, "redirect_uris": CALLBACK}, "too long"),
    ({"client_name": "App"}, "Redirect URI can't be blank"),
    ({"client_name": "App", "redirect_uris": "not a uri"}, "absolute URI"),
    ({"client_name": "App", "redirect_uris": "https://a.example/#frag"}, "absolute URI"),
    ({"client_name": "App", "redirect_uris": CALLBACK, "scopes": "read sudo"}, "Scopes"),
    ({"client_name": "App", "redirect_uris": CALLBACK, "website": "javascript:x"}, "Website"),
])
async def test_a_bad_registration_is_422_and_stores_nothing(inst: Instance, form: dict,
                                                          problem: str) -> None:
    async with inst.client() as client:
        answer = await client.post("/api/v1/apps", data=form)
    assert answer.status_code == 422
    assert problem in answer.json()["error"]
    assert await count(inst, OAuthApp) == 0


async def test_verify_app_credentials(inst: Instance) -> None:
    async with inst.client() as client:
        app = await register(client)
        token = await client.post("/oauth/token", data={
            "grant_type": "client_credentials", "scope": "read"} | client_auth(app))
        bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
        seen = await client.get("/api/v1/apps/verify_credentials", headers=bearer)
        anonymous = await client.get("/api/v1/apps/verify_credentials")
        bad = await client.get("/api/v1/apps/verify_credentials",
                               headers={"Authorization": "Bearer nope"})
    assert seen.status_code == 200
    assert seen.json()["name"] == "Test App" and "client_secret" not in seen.json()
    assert anonymous.status_code == 401 and bad.status_code == 401
    assert "error" in bad.json()


async def test_client_credentials_make_an_app_token(inst: Instance) -> None:
    async with inst.client() as client:
        app = await register(client)
        answer = await client.post("/oauth/token", json={
            "grant_type": "client_credentials"} | client_auth(app))
        beyond = await client.post("/oauth/token", data={
            "grant_type": "client_credentials", "scope": "admin:read"} | client_auth(app))
    assert answer.status_code == 200 and answer.json()["scope"] == "read"
    assert answer.headers["cache-control"] == "no-store"
    assert beyond.status_code == 400 and beyond.json()["error"] == "invalid_scope"
    async with inst.state.sessions() as session:
        row = (await session.exec(select(OAuthToken))).one()
    assert row.account_id is None and row.app_id is not None


async def test_http_basic_client_authentication(inst: Instance) -> None:
    async with inst.client() as client:
        app = await register(client)
        basic = base64.b64encode(f"{app['client_id']}:{app['client_secret']}".encode()).decode()
        answer = await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                                   headers={"Authorization": f"Basic {basic}"})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("auth", [{}, {"client_id": "nope", "client_secret": "x"}, "wrong"])
async def test_unknown_client_is_401_invalid_client(inst: Instance, auth) -> None:
    async with inst.client() as client:
        app = await register(client)
        if auth == "wrong":
            auth = {"client_id": app["client_id"], "client_secret": "wrong"}
        answer = await client.post("/oauth/token", data={"grant_type": "client_credentials"} | auth)
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client" and answer.json()["error_description"]
    assert await count(inst, OAuthToken) == 0


async def test_unknown_or_missing_grant_type(inst: Instance) -> None:
    async with inst.client() as client:
        app = await register(client)
        unknown = await client.post("/oauth/token", data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code"} | client_auth(app))
        missing = await client.post("/oauth/token", data=client_auth(app))
    assert unknown.status_code == 400 and unknown.json()["error"] == "unsupported_grant_type"
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


async def test_password_grant_signs_in_by_username_or_email(inst: Instance) -> None:
    async with inst.client() as client:
        app = await register(client)
        by_name = await client.post("/oauth/token", data={
            "grant_type": "password", "username": "alice", "password": PASSWORD,
            "scope": "read write"} | client_auth(app))
        by_email = await client.post("/oauth/token", data={
            "grant_type": "password", "username": "ALICE@example.org",
            "password": PASSWORD} | client_auth(app))
        wrong = await client.post("/oauth/token", data={
            "grant_type": "password", "username": "alice", "password": "nope"} | client_auth(app))
    assert by_name.status_code == 200 and by_name.json()["scope"] == "read write"
    assert by_email.status_code == 200 and by_email.json()["scope"] == "read"
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert await count(inst, OAuthToken) == 2


async def test_mastodon_py_password_login(inst: Instance) -> None:
    base = inst.base_url
    client_id, secret = await asyncio.to_thread(Mastodon.create_app, "toot-like",
                                                api_base_url=base)
    api = Mastodon(client_id=client_id, client_secret=secret, api_base_url=base)
    token = await asyncio.to_thread(api.log_in, "alice@example.org", PASSWORD, allow_http=True)
    assert token


async def test_password_grant_can_be_switched_off(inst: Instance) -> None:
    inst.state.settings = dataclasses.replace(inst.state.settings, password_grant=False)
    async with inst.client() as client:
        app = await register(client)
        answer = await client.post("/oauth/token", data={
            "grant_type": "password", "username": "alice", "password": PASSWORD}
            | client_auth(app))
        metadata = await client.get("/.well-known/oauth-authorization-server")
    assert answer.status_code == 400 and answer.json()["error"] == "unsupported_grant_type"
    assert "password" not in metadata.json()["grant_types_supported"]
    assert await count(inst, OAuthToken) == 0


async def test_revoke_ends_a_token_and_only_its_own_apps(inst: Instance) -> None:
    async with inst.client() as client:
        app, other = await register(client), await register(client)
        token = (await client.post("/oauth/token", data={
            "grant_type": "password", "username": "alice", "password": PASSWORD}
            | client_auth(app))).json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        foreign = await client.post("/oauth/revoke", data={"token": token} | client_auth(other))
        still = await client.get("/api/v1/apps/verify_credentials", headers=bearer)
        revoked = await client.post("/oauth/revoke", data={"token": token} | client_auth(app))
        after = await client.get("/api/v1/apps/verify_credentials", headers=bearer)
        unknown = await client.post("/oauth/revoke", data={"token": "nope"} | client_auth(app))
        no_client = await client.post("/oauth/revoke", data={"token": token})
    assert foreign.status_code == 403 and foreign.json()["error"] == "unauthorized_client"
    assert still.status_code == 200
    assert revoked.status_code == 200 and revoked.json() == {}
    assert after.status_code == 401
    assert unknown.status_code == 200
    assert no_client.status_code == 401


async def test_mastodon_py_revokes_its_token(inst: Instance) -> None:
    base = inst.base_url
    client_id, secret = await asyncio.to_thread(Mastodon.create_app, "pytooter",
                                                api_base_url=base)
    api = Mastodon(client_id=client_id, client_secret=secret, api_base_url=base)
    token = await asyncio.to_thread(api.log_in, "alice", PASSWORD, allow_http=True)
    await asyncio.to_thread(api.revoke_access_token, allow_http=True)
    async with inst.client() as client:
        after = await client.get("/api/v1/apps/verify_credentials",
                                 headers={"Authorization": f"Bearer {token}"})
    assert after.status_code == 401


async def test_authorization_server_metadata(inst: Instance) -> None:
    async with inst.client() as client:
        answer = await client.get("/.well-known/oauth-authorization-server")
    meta = answer.json()
    base = inst.base_url
    assert meta["issuer"] == base + "/"
    assert meta["authorization_endpoint"] == base + "/oauth/authorize"
    assert meta["token_endpoint"] == base + "/oauth/token"
    assert meta["revocation_endpoint"] == base + "/oauth/revoke"
    assert meta["app_registration_endpoint"] == base + "/api/v1/apps"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert set(meta["grant_types_supported"]) == {
        "authorization_code", "client_credentials", "password"}
    assert {"read", "write:statuses", "admin:read:accounts"} <= set(meta["scopes_supported"])
    assert meta["response_types_supported"] == ["code"]
