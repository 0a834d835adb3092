"""Web Push on a real running instance: subscriptions made, read, changed and deleted with
Mastodon.py; a loopback push service receives the pushes that a mention, a favourite and a
follow cause, which the test decrypts with the subscription's private key and whose VAPID
token it verifies against the instance's public key; alerts and policy filter; a 410 ends
the subscription; bad input is a 422; the `push` scope is needed; the key survives a
restart."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import http_ece
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from mastodon import Mastodon, MastodonNotFoundError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fediverse.api.errors import ApiError
from fediverse.api.params import Params
from fediverse.api.push import _endpoint
from models.db import session_factory
from models.tables import Job, OAuthApp, PushSubscription
from models.tokens import create_token
from models.types import utcnow
from outbox import actions
from tests.flows_support import Side, following, pair  # noqa: F401
from tests.instances import free_port, running_instance, serving
from tests.test_api_accounts_support import Api

WAIT = 20.0  # seconds a push may take on a busy machine


@dataclass
class Pushed:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class PushService:
    """A push service on loopback: records each POST, answers `status`."""

    port: int
    status: int = 201
    received: list[Pushed] = field(default_factory=list)

    def endpoint(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/push/{name}"

    async def receive(self, request: Request) -> Response:
        self.received.append(Pushed(request.url.path, dict(request.headers), await request.body()))
        return Response(status_code=self.status)

    async def wait(self, count: int) -> list[Pushed]:
        deadline = time.monotonic() + WAIT
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} pushes, not {count}"
            await asyncio.sleep(0.05)
        return self.received


@pytest.fixture
async def service() -> AsyncIterator[PushService]:
    found = PushService(free_port())
    app = Starlette(routes=[Route("/push/{name}", found.receive, methods=["POST"])])
    async with serving(app, found.port):
        yield found


@pytest.fixture
async def live(tmp_path, database_url) -> AsyncIterator[Api]:
    """An instance whose workers run (they send the pushes)."""
    async with running_instance(tmp_path / "a", database_url, run_workers=True) as inst:
        yield Api(inst)


def keys() -> tuple[dict[str, Any], dict[str, Any]]:
    """(private, public) subscription keys, as Mastodon.py makes them."""
    return Mastodon(api_base_url="http://unused", mastodon_version="4.3.0").push_subscription_generate_keys()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_jwt(token: str, public_key: str) -> dict[str, Any]:
    """The claims of an ES256 token signed by the key (base64url point); raises if not."""
    header, claims, signature = token.split(".")
    assert json.loads(b64url_decode(header)) == {"typ": "JWT", "alg": "ES256"}
    raw = b64url_decode(signature)
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(public_key))
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    return json.loads(b64url_decode(claims))  # type: ignore[no-any-return]


def legacy_push(client: Mastodon, pushed: Pushed, private: dict[str, Any]) -> Any:
    assert pushed.headers["content-encoding"] == "aesgcm"
    return client.push_subscription_decrypt_push(pushed.body, private,
                                                 pushed.headers["encryption"],
                                                 pushed.headers["crypto-key"])


async def server_key(api: Api) -> str:
    answer = await api.http("GET", "/api/v2/instance")
    return answer.json()["configuration"]["vapid"]["public_key"]  # type: ignore[no-any-return]


async def queue_idle(api: Api) -> None:
    """Until no push job is due or running (one to retry later may wait)."""
    deadline = time.monotonic() + WAIT

    def busy(job: Job) -> bool:
        return job.state == "running" or (job.state == "queued" and job.run_at <= utcnow())

    while any(busy(j) for j in await api.rows(Job, Job.queue == "push")):
        assert time.monotonic() < deadline, "push jobs still waiting"
        await asyncio.sleep(0.05)


async def test_subscribe_read_update_and_delete(live: Api) -> None:
    _, token = await live.user("alice")
    client = live.mastodon(token)
    private, public = keys()
    made = await live.call(client.push_subscription_set, "https://push.example/alice", public,
                           mention_events=True, favourite_events=True, policy="all")
    key = await server_key(live)
    assert len(b64url_decode(key)) == 65 and b64url_decode(key)[0] == 4
    assert made.endpoint == "https://push.example/alice" and made.server_key == key
    assert made.policy == "all" and made.standard is False
    assert made.alerts.mention and made.alerts.favourite and not made.alerts.follow
    assert set(made.alerts) >= {"mention", "status", "reblog", "follow", "follow_request",
                                "favourite", "poll", "update", "admin.sign_up", "admin.report"}
    assert (await live.call(client.push_subscription)).id == made.id

    changed = await live.call(client.push_subscription_update, follow_events=True,
                              favourite_events=False, policy="followed")
    assert changed.id == made.id and changed.policy == "followed"
    assert changed.alerts.follow and changed.alerts.mention and not changed.alerts.favourite

    again = await live.call(client.push_subscription_set, "https://push.example/other", public,
                            reblog_events=True)
    assert again.id != made.id and again.endpoint == "https://push.example/other"
    assert again.alerts.reblog and not again.alerts.mention  # a new POST replaces it whole
    assert len(await live.rows(PushSubscription)) == 1

    await live.call(client.push_subscription_delete)
    with pytest.raises(MastodonNotFoundError):
        await live.call(client.push_subscription)
    assert await live.rows(PushSubscription) == []
    answer = await live.http("PUT", "/api/v1/push/subscription", token,
                             data={"data[alerts][mention]": "true"})
    assert answer.status_code == 404 and "error" in answer.json()


async def test_apps_get_the_server_key(live: Api) -> None:
    answer = await live.http("POST", "/api/v1/apps", data={
        "client_name": "pusher", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
        "scopes": "read push"})
    key = await server_key(live)
    assert key and answer.json()["vapid_key"] == key


async def test_pushes_arrive_encrypted_and_signed(live: Api, service: PushService) -> None:
    alice, alice_token = await live.user("alice", display_name="Alice")
    _, bob_token = await live.user("bob", display_name="Bob")
    alice_client, bob_client = live.mastodon(alice_token), live.mastodon(bob_token)
    private, public = keys()
    await live.call(alice_client.push_subscription_set, service.endpoint("alice"), public,
                    mention_events=True, favourite_events=True, follow_events=True)

    await live.call(bob_client.status_post, "@alice look at this")
    [pushed] = await service.wait(1)
    assert pushed.path == "/push/alice"
    content = legacy_push(alice_client, pushed, private)
    [notification] = await live.call(alice_client.notifications)
    assert content.notification_type == "mention"
    assert content.notification_id == str(notification.id)
    assert content.access_token == alice_token and content.preferred_locale == "en"
    assert content.title == "You were mentioned by Bob"
    assert "look at this" in content.body and content.icon.startswith("http")
    assert int(pushed.headers["ttl"]) > 0 and pushed.headers["urgency"] == "normal"

    key = await server_key(live)
    scheme, _, token = pushed.headers["authorization"].partition(" ")
    assert scheme == "WebPush" and f"p256ecdsa={key}" in pushed.headers["crypto-key"]
    claims = verify_jwt(token, key)
    assert claims["aud"] == f"http://127.0.0.1:{service.port}"
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    assert claims["sub"].startswith(("mailto:", "https:", "http:"))
    other = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        *_x962_uncompressed())
    with pytest.raises(InvalidSignature):
        verify_jwt(token, base64.urlsafe_b64encode(other).rstrip(b"=").decode())

    own = await live.call(alice_client.status_post, "mine")
    await live.call(bob_client.status_favourite, own.id)
    await live.call(bob_client.account_follow, alice.id)
    pushes = await service.wait(3)
    kinds = [legacy_push(alice_client, p, private).notification_type for p in pushes[1:]]
    assert sorted(kinds) == ["favourite", "follow"]


def _x962_uncompressed() -> tuple[Any, Any]:
    from cryptography.hazmat.primitives import serialization

    return serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint


async def test_remote_actions_are_pushed(pair: tuple[Side, Side],  # noqa: F811
                                         service: PushService) -> None:
    """A follow, mention and like from another server (through its inbox) are pushed."""
    a, b = pair
    alice_api = Api(a.inst)
    alice, alice_token = await alice_api.user("alice")
    bob = await b.account("bob", display_name="Bob")
    alice_client = alice_api.mastodon(alice_token)
    private, public = keys()
    await alice_api.call(alice_client.push_subscription_set, service.endpoint("alice"), public,
                         mention_events=True, favourite_events=True, follow_events=True)
    alice_on_b = await following(b, bob, a, alice)
    post = await a.act(actions.post_status, alice, text="hello there")
    copy = await b.eventually(lambda: b.status(post.uri), what="alice's post")
    await b.act(actions.post_status, bob, text=f"@alice@{a.inst.domain} hi",
                mentions=[alice_on_b])
    await b.act(actions.favourite, bob, copy)
    pushes = await service.wait(3)
    contents = [legacy_push(alice_client, p, private) for p in pushes]
    assert sorted(c.notification_type for c in contents) == ["favourite", "follow", "mention"]
    assert all(c.title.startswith("Bob ") or c.title.endswith(" Bob") for c in contents)
    assert all(c.access_token == alice_token for c in contents)


async def test_standard_subscriptions_get_aes128gcm(live: Api, service: PushService) -> None:
    _, alice_token = await live.user("alice")
    _, bob_token = await live.user("bob", display_name="Bob")
    private, public = keys()
    answer = await live.http("POST", "/api/v1/push/subscription", alice_token, json={
        "subscription": {"endpoint": service.endpoint("std"), "standard": True, "keys": {
            "p256dh": base64.urlsafe_b64encode(public["pubkey"]).rstrip(b"=").decode(),
            "auth": base64.urlsafe_b64encode(public["auth"]).rstrip(b"=").decode()}},
        "data": {"alerts": {"mention": True}, "policy": "all"}})
    assert answer.status_code == 200 and answer.json()["standard"] is True
    await live.call(live.mastodon(bob_token).status_post, "@alice standard")
    [pushed] = await service.wait(1)
    assert pushed.headers["content-encoding"] == "aes128gcm"
    plain = http_ece.decrypt(pushed.body, private_key=ec.derive_private_key(
        private["privkey"], ec.SECP256R1()), auth_secret=private["auth"], version="aes128gcm")
    content = json.loads(plain)
    assert content["notification_type"] == "mention" and content["access_token"] == alice_token
    key = await server_key(live)
    scheme, _, rest = pushed.headers["authorization"].partition(" ")
    parts = dict(item.strip().split("=", 1) for item in rest.split(","))
    assert scheme == "vapid" and parts["k"] == key
    assert verify_jwt(parts["t"], key)["aud"] == f"http://127.0.0.1:{service.port}"


async def test_alerts_and_policy_filter(live: Api, service: PushService) -> None:
    alice, alice_token = await live.user("alice")
    bob, bob_token = await live.user("bob")
    _, carol_token = await live.user("carol")
    dave, dave_token = await live.user("dave")
    alice_client, bob_client = live.mastodon(alice_token), live.mastodon(bob_token)
    carol_client = live.mastodon(carol_token)
    await live.call(alice_client.account_follow, bob.id)
    await live.call(alice_client.account_follow, dave.id)
    await live.call(alice_client.account_mute, dave.id, notifications=True)
    private, public = keys()
    await live.call(alice_client.push_subscription_set, service.endpoint("alice"), public,
                    mention_events=True, policy="followed")

    own = await live.call(alice_client.status_post, "mine")
    await live.call(carol_client.status_post, "@alice from a stranger")  # policy: no
    await live.call(bob_client.status_favourite, own.id)  # alerts: no
    await live.call(live.mastodon(dave_token).status_post, "@alice muted")  # muted: no
    await live.call(bob_client.status_post, "@alice from bob")
    [pushed] = await service.wait(1)
    assert "from bob" in legacy_push(alice_client, pushed, private).body
    await queue_idle(live)
    assert len(service.received) == 1

    await live.call(alice_client.push_subscription_update, policy="none", mention_events=True)
    await live.call(bob_client.status_post, "@alice again")
    await asyncio.sleep(0.5)  # pushes are enqueued just after the commit
    await queue_idle(live)
    assert len(service.received) == 1


async def test_a_gone_subscription_is_deleted(live: Api, service: PushService) -> None:
    _, alice_token = await live.user("alice")
    _, bob_token = await live.user("bob")
    alice_client = live.mastodon(alice_token)
    service.status = 410
    _, public = keys()
    await live.call(alice_client.push_subscription_set, service.endpoint("alice"), public,
                    mention_events=True)
    await live.call(live.mastodon(bob_token).status_post, "@alice are you there")
    await service.wait(1)
    await queue_idle(live)
    assert await live.rows(PushSubscription) == []
    with pytest.raises(MastodonNotFoundError):
        await live.call(alice_client.push_subscription)


async def test_a_failing_service_is_retried(live: Api, service: PushService) -> None:
    _, alice_token = await live.user("alice")
    _, bob_token = await live.user("bob")
    service.status = 503
    _, public = keys()
    await live.call(live.mastodon(alice_token).push_subscription_set,
                    service.endpoint("alice"), public, mention_events=True)
    await live.call(live.mastodon(bob_token).status_post, "@alice later")
    await service.wait(1)
    await queue_idle(live)
    [job] = await live.rows(Job, Job.queue == "push")
    assert job.state == "queued" and job.attempts == 1 and "503" in (job.last_error or "")
    assert len(await live.rows(PushSubscription)) == 1


async def test_revoking_the_token_deletes_its_subscription(live: Api) -> None:
    alice, _ = await live.user("alice")
    registered = (await live.http("POST", "/api/v1/apps", data={
        "client_name": "pusher", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
        "scopes": "read push"})).json()
    async with session_factory(live.inst.state.engine, immediate=True)() as session:
        app = await session.get(OAuthApp, int(registered["id"]))
        token = await create_token(session, alice, "read push", app=app)
        await session.commit()
    _, public = keys()
    await live.call(live.mastodon(token).push_subscription_set, "https://push.example/a",
                    public, mention_events=True)
    assert len(await live.rows(PushSubscription)) == 1
    answer = await live.http("POST", "/oauth/revoke", data={
        "client_id": registered["client_id"], "client_secret": registered["client_secret"],
        "token": token})
    assert answer.status_code == 200
    assert await live.rows(PushSubscription) == []


def _form(endpoint: str, p256dh: bytes, auth: bytes, **extra: str) -> dict[str, str]:
    return {"subscription[endpoint]": endpoint,
            "subscription[keys][p256dh]": base64.b64encode(p256dh).decode(),
            "subscription[keys][auth]": base64.b64encode(auth).decode(), **extra}


async def test_bad_input_is_refused_and_nothing_stored(live: Api) -> None:
    _, token = await live.user("alice")
    _, public = keys()
    point, auth = public["pubkey"], public["auth"]
    off_curve = b"\x04" + bytes(64)
    bad = [
        {"subscription[keys][p256dh]": "x"},  # no endpoint
        _form("ftp://push.example/a", point, auth),
        _form("https://", point, auth),
        _form("https://push.example/a", point[:64], auth),
        _form("https://push.example/a", b"\x02" + point[1:33], auth),  # compressed
        _form("https://push.example/a", off_curve, auth),
        _form("https://push.example/a", point, auth[:15]),
        _form("https://push.example/a", point, auth, **{"data[policy]": "friends"}),
        _form("https://push.example/a", point, auth, **{"data[alerts][mention]": "maybe"}),
        {**_form("https://push.example/a", point, auth), "subscription[keys][auth]": "!!!"},
    ]
    for data in bad:
        answer = await live.http("POST", "/api/v1/push/subscription", token, data=data)
        assert answer.status_code == 422, (data, answer.text)
        assert list(answer.json()) == ["error"] and "\n" not in answer.json()["error"]
    assert await live.rows(PushSubscription) == []
    good = await live.http("POST", "/api/v1/push/subscription", token,
                           data=_form("https://push.example/a", point, auth))
    assert good.status_code == 200


def test_plain_http_and_private_endpoints_only_where_the_instance_allows_them() -> None:
    asked = Params([("subscription[endpoint]", "http://push.example/a")])
    with pytest.raises(ApiError) as refused:
        _endpoint(asked, http_allowed=False)
    assert refused.value.status == 422
    assert _endpoint(asked, http_allowed=True) == "http://push.example/a"
    loopback = Params([("subscription[endpoint]", "https://127.0.0.1:8443/a")])
    with pytest.raises(ApiError):
        _endpoint(loopback, http_allowed=True, private_allowed=False)
    assert _endpoint(loopback, http_allowed=True, private_allowed=True)


async def test_the_push_scope_is_needed(live: Api) -> None:
    alice, _ = await live.user("alice")
    async with session_factory(live.inst.state.engine, immediate=True)() as session:
        wrong = await create_token(session, alice, "read write follow")
        right = await create_token(session, alice, "push")
        await session.commit()
    _, public = keys()
    form = _form("https://push.example/a", public["pubkey"], public["auth"])
    for method in ("POST", "GET", "PUT", "DELETE"):
        answer = await live.http(method, "/api/v1/push/subscription", wrong,
                                 data=form if method == "POST" else None)
        assert answer.status_code == 403, method
    assert await live.rows(PushSubscription) == []
    assert (await live.http("POST", "/api/v1/push/subscription", right, data=form)
            ).status_code == 200
    assert (await live.http("GET", "/api/v1/push/subscription", right)).status_code == 200
    assert (await live.http("GET", "/api/v1/push/subscription")).status_code == 401


async def test_the_vapid_key_survives_a_restart(tmp_path, database_url) -> None:
    seen = []
    for _ in range(2):
        async with running_instance(tmp_path / "a", database_url) as inst:
            seen.append(await server_key(Api(inst)))
    assert seen[0] and seen[0] == seen[1]
