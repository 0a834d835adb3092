"""The authorization-code flow on a real instance: Mastodon.py's own way in (out-of-band code,
the real sign-in form), PKCE, redirect URIs, codes used twice or late, CSRF, wrong passwords."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from datetime import timedelta
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from mastodon import Mastodon
from sqlmodel import func, select

from models.accounts import create_account
from models.tables import OAuthCode, OAuthToken
from models.types import utcnow
from tests.instances import Instance, running_instance

PASSWORD = "correct horse battery"
CALLBACK = "https://app.example/callback"
OOB = "urn:ietf:wg:oauth:2.0:oob"


@pytest.fixture
async def inst(tmp_path, database_url):
    async with running_instance(tmp_path / "data", database_url) as instance:
        async with instance.state.sessions() as session:
            await create_account(session, "alice", password=PASSWORD, email="alice@example.org")
            await session.commit()
        yield instance


async def register(client: httpx.AsyncClient, redirect_uris: str = CALLBACK,
                   scopes: str = "read write follow push") -> dict:
    answer = await client.post("/api/v1/apps", data={
        "client_name": "Test App", "redirect_uris": redirect_uris, "scopes": scopes})
    assert answer.status_code == 200, answer.text
    return answer.json()


def hidden_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


async def sign_in(client: httpx.AsyncClient, authorize_url: str, *, login: str = "alice",
                  password: str = PASSWORD, decision: str = "approve") -> httpx.Response:
    """Open the sign-in page, then post its form as a browser would."""
    page = await client.get(authorize_url)
    assert page.status_code == 200, page.text
    form = hidden_fields(page.text) | {"username": login, "password": password,
                                       "decision": decision}
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action
    return await client.post(urljoin(str(page.url), action.group(1)), data=form)


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def codes(inst: Instance) -> int:
    async with inst.state.sessions() as session:
        return int((await session.exec(select(func.count()).select_from(OAuthCode))).one())


def authorize_url(app: dict, **extra: str) -> str:
    query = {"client_id": app["client_id"], "redirect_uri": CALLBACK, "response_type": "code",
             "scope": "read write", "state": "s-123"} | extra
    return "/oauth/authorize?" + "&".join(f"{k}={v}" for k, v in query.items())


async def exchange(client: httpx.AsyncClient, app: dict, code: str, **extra: str) -> httpx.Response:
    return await client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
        "client_id": app["client_id"], "client_secret": app["client_secret"]} | extra)


async def test_mastodon_py_logs_in_with_the_out_of_band_code(inst: Instance) -> None:
    base = inst.base_url
    client_id, client_secret = await asyncio.to_thread(
        Mastodon.create_app, "pytooter", api_base_url=base)
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=base)
    url = await asyncio.to_thread(api.auth_request_url, redirect_uris=OOB, allow_http=True)
    assert url.startswith(base + "/oauth/authorize?")

    async with httpx.AsyncClient(timeout=10) as browser:
        posted = await sign_in(browser, url)
        assert posted.status_code == 302
        shown = await browser.get(base + posted.headers["location"])
    assert shown.status_code == 200
    found = re.search(r'<code id="authorization-code">([^<]+)</code>', shown.text)
    assert found

    token = await asyncio.to_thread(api.log_in, code=found.group(1), allow_http=True)
    me = Mastodon(access_token=token, api_base_url=base)
    app = await asyncio.to_thread(me.app_verify_credentials)
    assert app["name"] == "pytooter" and "client_secret" not in app
    async with inst.state.sessions() as session:
        row = (await session.exec(select(OAuthToken).where(OAuthToken.app_id.is_not(None)))).one()
    assert row.scopes == "read write follow push" and row.account_id is not None


async def test_mastodon_py_signs_in_by_email_and_verifies_the_account(inst: Instance) -> None:
    base = inst.base_url
    client_id, secret = await asyncio.to_thread(Mastodon.create_app, "pytooter",
                                                api_base_url=base)
    api = Mastodon(client_id=client_id, client_secret=secret, api_base_url=base)
    url = await asyncio.to_thread(api.auth_request_url, allow_http=True)
    async with httpx.AsyncClient(timeout=10) as browser:
        posted = await sign_in(browser, url, login="alice@example.org")
        shown = await browser.get(base + posted.headers["location"])
    code = re.search(r'<code id="authorization-code">([^<]+)</code>', shown.text)
    assert code
    await asyncio.to_thread(api.log_in, code=code.group(1), allow_http=True)
    account = await asyncio.to_thread(api.account_verify_credentials)
    assert account["username"] == "alice"


async def test_a_redirect_carries_the_code_and_state(inst: Instance) -> None:
    async with inst.client() as client:
        app = await register(client)
        posted = await sign_in(client, authorize_url(app))
        assert posted.status_code == 302
        location = posted.headers["location"]
        assert location.startswith(CALLBACK + "?")
        answer = query_of(location)
        assert answer["state"] == "s-123"
        token = await exchange(client, app, answer["code"])
    assert token.status_code == 200, token.text
    body = token.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "read write"
    assert isinstance(body["created_at"], int)


async def test_trailing_slash_authorize_works_for_get_and_post(inst: Instance) -> None:
    async with inst.client() as client:
        app = await register(client)
        url = authorize_url(app).replace("/oauth/authorize?", "/oauth/authorize/?")
        posted = await sign_in(client, url)
    assert posted.status_code == 302 and "code" in query_of(posted.headers["location"])


def pkce_pair() -> tuple[str, str]:
    verifier = base64.urlsafe_b64encode(b"v" * 40).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


async def test_pkce_s256_needs_the_right_verifier(inst: Instance) -> None:
    verifier, challenge = pkce_pair()
    async with inst.client() as client:
        app = await register(client)
        posted = await sign_in(client, authorize_url(
            app, code_challenge=challenge, code_challenge_method="S256"))
        code = query_of(posted.headers["location"])["code"]
        missing = await exchange(client, app, code)
        wrong = await exchange(client, app, code, code_verifier="w" * 50)
        right = await exchange(client, app, code, code_verifier=verifier)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_grant"
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert right.status_code == 200, right.text


async def test_pkce_plain_is_refused(inst: Instance) -> None:
    async with inst.client() as client:
        app = await register(client)
        page = await client.get(authorize_url(app, code_challenge="a" * 43,
                                              code_challenge_method="plain"))
    assert page.status_code == 302
    answer = query_of(page.headers["location"])
    assert answer["error"] == "invalid_request" and answer["state"] == "s-123"


async def test_a_verifier_without_a_challenge_is_refused(inst: Instance) -> None:
    async with inst.client() as client:
        app = await register(client)
        posted = await sign_in(client, authorize_url(app))
        code = query_of(posted.headers["location"])["code"]
        answer = await exchange(client, app, code, code_verifier="x" * 50)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


async def test_wrong_redirect_uri_is_shown_not_followed(inst: Instance) -> None:
    async with inst.client() as client:
        app = await register(client)
        page = await client.get(authorize_url(app, redirect_uri="https://evil.example/cb"))
        assert page.status_code == 400 and "redirect URI" in page.text
        prefix = await client.get(authorize_url(app, redirect_uri=CALLBACK + "/more"))
        assert prefix.status_code == 400
        posted = await sign_in(client, authorize_url(app))
        code = query_of(posted.headers["location"])["code"]
        answer = await exchange(client, app, code, redirect_uri="https://evil.example/cb")
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


async def test_unknown_client_is_shown_not_followed(inst: Instance) -> None:
    async with inst.client() as client:
        page = await client.get(authorize_url({"client_id": "nope"}))
    assert page.status_code == 400 and "location" not in page.headers


async def test_scope_beyond_the_apps_is_refused(inst: Instance) -> None:
    async with inst.client() as client:
        app = await register(client, scopes="read")
        page = await client.get(authorize_url(app, scope="read+write"))
    assert page.status_code == 302
    assert query_of(page.headers["location"])["error"] == "invalid_scope"


async def test_a_code_works_once_and_reuse_revokes_its_token(inst: Instance) -> None:
    async with inst.client() as client:
        app = await register(client)
        posted = await sign_in(client, authorize_url(app))
        code = query_of(posted.headers["location"])["code"]
        first = await exchange(client, app, code)
        token = first.json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        assert (await client.get("/api/v1/apps/verify_credentials", headers=bearer)).status_code == 200
        again = await exchange(client, app, code)
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
        after = await client.get("/api/v1/apps/verify_credentials", headers=bearer)
    assert after.status_code == 401


async def test_an_expired_code_is_refused(inst: Instance) -> None:
    async with inst.client() as client:
        app = await register(client)
        posted = await sign_in(client, authorize_url(app))
        code = query_of(posted.headers["location"])["code"]
        async with inst.state.sessions() as session:
            await session.exec(sa.update(OAuthCode).values(
                expires_at=utcnow() - timedelta(seconds=1)))
            await session.commit()
        answer = await exchange(client, app, code)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


async def test_another_apps_code_is_refused(inst: Instance) -> None:
    async with inst.client() as client:
        app, other = await register(client), await register(client)
        posted = await sign_in(client, authorize_url(app))
        code = query_of(posted.headers["location"])["code"]
        answer = await exchange(client, other, code)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


async def test_wrong_password_shows_the_form_again_and_issues_nothing(inst: Instance) -> None:
    async with inst.client() as client:
        app = await register(client)
        posted = await sign_in(client, authorize_url(app), password="not the password")
        unknown = await sign_in(client, authorize_url(app), login="nobody")
    for answer in (posted, unknown):
        assert answer.status_code == 422
        assert "Invalid username, email or password" in answer.text
        assert 'name="password"' in answer.text
    assert await codes(inst) == 0


async def test_missing_or_forged_csrf_token_is_forbidden(inst: Instance) -> None:
    async with inst.client() as client:
        app = await register(client)
        page = await client.get(authorize_url(app))
        form = hidden_fields(page.text) | {"username": "alice", "password": PASSWORD}
        forged = form | {"authenticity_token": "forged"}
        without = {k: v for k, v in form.items() if k != "authenticity_token"}
        wrong_field = await client.post("/oauth/authorize", data=forged)
        no_field = await client.post("/oauth/authorize", data=without)
        client.cookies.clear()
        no_cookie = await client.post("/oauth/authorize", data=form)
    for answer in (wrong_field, no_field, no_cookie):
        assert answer.status_code == 403
    assert await codes(inst) == 0


async def test_deny_redirects_with_access_denied(inst: Instance) -> None:
    async with inst.client() as client:
        app = await register(client)
        posted = await sign_in(client, authorize_url(app), password="", decision="deny")
    answer = query_of(posted.headers["location"])
    assert answer == {"error": "access_denied", "state": "s-123",
                      "error_description": answer["error_description"]}
    assert await codes(inst) == 0


async def test_the_sign_in_page_cannot_be_framed(inst: Instance) -> None:
    async with inst.client() as client:
        app = await register(client)
        page = await client.get(authorize_url(app))
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "httponly" in page.headers["set-cookie"].lower()
