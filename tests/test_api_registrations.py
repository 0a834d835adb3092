"""Signing up from an app (`POST /api/v1/accounts`) with Mastodon.py's `create_account`, on
instances with registrations open and closed: the new account can post at once; refusals
say which field is wrong, in Mastodon's `details`, and store nothing."""

from __future__ import annotations

import asyncio

from mastodon import Mastodon

from models.tables import Account
from tests.instances import running_instance
from tests.test_api_accounts_support import MASTODON_VERSION, Api

SCOPES = ["read", "write", "follow"]


async def _app(api: Api) -> Mastodon:
    client_id, client_secret = await asyncio.to_thread(
        Mastodon.create_app, "signup-test", api_base_url=api.base,
        scopes=SCOPES)
    return Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=api.base,
                    mastodon_version=MASTODON_VERSION)


async def test_signing_up_from_an_app(tmp_path, database_url) -> None:
    async with running_instance(tmp_path, database_url, open_registrations=True) as inst:
        api = Api(inst)
        app = await _app(api)
        token = await api.call(app.create_account, "newcomer", "a long password",
                               "new@example.com", agreement=True, scopes=SCOPES)
        assert token
        me = await api.call(app.account_verify_credentials)  # the token is the client's now
        assert me.username == "newcomer"
        posted = await api.call(app.status_post, "hello, fediverse")
        assert posted.account.username == "newcomer"
        logged_in = Mastodon(client_id=app.client_id, client_secret=app.client_secret,
                             api_base_url=api.base, mastodon_version=MASTODON_VERSION)
        assert await api.call(logged_in.log_in, "new@example.com", "a long password",
                              scopes=["read"], allow_http=True)
        [row] = await api.rows(Account, Account.username == "newcomer")
        assert row.email == "new@example.com" and not row.is_admin

        # refused, with the field that is wrong; nothing stored
        fresh = await _app(api)
        for (username, password, email, agreement), field, code in (
                (("newcomer", "a long password", "other@example.com", True), "username",
                 "ERR_TAKEN"),
                (("admin", "a long password", "x@example.com", True), "username", "ERR_RESERVED"),
                (("bad name!", "a long password", "y@example.com", True), "username",
                 "ERR_INVALID"),
                (("someone", "short", "z@example.com", True), "password", "ERR_TOO_SHORT"),
                (("someone", "a long password", "new@example.com", True), "email", "ERR_TAKEN"),
                (("someone", "a long password", "not-an-email", True), "email", "ERR_INVALID"),
                (("someone", "a long password", "w@example.com", False), "agreement",
                 "ERR_ACCEPTED")):
            token, error = await api.call(fresh.create_account, username, password, email,
                                          agreement=agreement, return_detailed_error=True,
                                          scopes=SCOPES)
            assert token is None, (username, email)
            assert error["details"][field][0]["error"] == code, (username, email, error)
        assert len(await api.rows(Account, Account.domain == "")) == 1 + 1  # and the actor
        blank = await api.http("POST", "/api/v1/accounts", None, data={"username": "x"})
        assert blank.status_code == 401  # an app's token is needed


async def test_closed_registrations_refuse(tmp_path, database_url) -> None:
    async with running_instance(tmp_path, database_url) as inst:
        api = Api(inst)
        app = await _app(api)
        token, error = await api.call(app.create_account, "newcomer", "a long password",
                                      "new@example.com", agreement=True,
                                      return_detailed_error=True, scopes=SCOPES)
        assert token is None and error["error"] == "This action is not allowed"
        async with inst.client() as http:  # as an app asks: 403
            answer = await http.post("/oauth/token", data={
                "grant_type": "client_credentials", "client_id": app.client_id,
                "client_secret": app.client_secret, "scope": "write"})
            refused = await http.post(
                "/api/v1/accounts", data={"username": "newcomer", "password": "a long password",
                                          "email": "new@example.com", "agreement": "true"},
                headers={"Authorization": f"Bearer {answer.json()['access_token']}"})
        assert refused.status_code == 403
        assert await api.rows(Account, Account.username == "newcomer") == []
        instance = (await api.http("GET", "/api/v2/instance")).json()
        assert instance["registrations"]["enabled"] is False
