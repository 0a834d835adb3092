"""The instance's texts on a running instance, driven with Mastodon.py and plain HTTP: the
extended description, privacy policy and terms of service as an admin sets them (inline or
from a file, sanitised), the defaults without them (an empty description, a short policy,
no terms: 404), and their web pages as linked from instance v2."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mastodon import Mastodon, MastodonNotFoundError

from fediverse.settings import load
from tests.instances import running_instance
from tests.test_api_accounts_support import MASTODON_VERSION, Api, api  # noqa: F401


async def test_defaults_without_settings(api: Api) -> None:  # noqa: F811
    client = Mastodon(api_base_url=api.base, mastodon_version=MASTODON_VERSION)
    described = await api.call(client.instance_extended_description)
    assert described.content == ""
    assert described.updated_at.year >= 2026
    policy = (await api.http("GET", "/api/v1/instance/privacy_policy")).json()
    assert set(policy) == {"updated_at", "content"}
    assert policy["content"].startswith("<h1>Privacy policy</h1>")
    assert policy["updated_at"].endswith("Z") and len(policy["updated_at"]) == 24
    newer = Mastodon(api_base_url=api.base, mastodon_version="4.4.0")
    with pytest.raises(MastodonNotFoundError):
        await api.call(newer.instance_terms_of_service)
    answer = await api.http("GET", "/api/v1/instance/terms_of_service")
    assert answer.status_code == 404 and answer.json() == {"error": "Record not found"}

    urls = (await api.call(client.instance_v2)).configuration.urls
    assert urls.privacy_policy == api.base + "/privacy-policy"
    assert urls.terms_of_service is None
    page = await api.http("GET", "/privacy-policy")
    assert page.status_code == 200 and "<h1>Privacy policy</h1>" in page.text
    assert (await api.http("GET", "/terms-of-service")).status_code == 404
    assert (await api.http("GET", "/api/v1/instance/privacy_policy", "bad")).status_code == 401


async def test_texts_an_admin_sets(tmp_path: Path, database_url: str) -> None:
    terms = tmp_path / "terms.html"
    terms.write_text('<h2>Rules</h2><p onclick="x()">Be kind.</p><script>alert(1)</script>'
                     '<a href="javascript:evil()">no</a>', encoding="utf-8")
    moment = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC).timestamp()
    os.utime(terms, (moment, moment))
    settings = load({"FEDIVERSE_EXTENDED_DESCRIPTION": "<p>Pictures <b>only</b>.</p>",
                     "FEDIVERSE_PRIVACY_POLICY": "<p>We keep little.</p><img src=x>",
                     "FEDIVERSE_TERMS_OF_SERVICE_FILE": str(terms)})
    options = {name: getattr(settings, name) for name in (
        "extended_description", "privacy_policy", "terms_of_service_file")}
    async with running_instance(tmp_path / "a", database_url, **options) as inst:
        client = Mastodon(api_base_url=inst.base_url, mastodon_version="4.4.0")
        described = await asyncio.to_thread(client.instance_extended_description)
        assert described.content == "<p>Pictures <b>only</b>.</p>"
        async with inst.client() as http:
            policy = (await http.get("/api/v1/instance/privacy_policy")).json()
            assert policy["content"] == "<p>We keep little.</p>"
            again = (await http.get("/api/v1/instance/privacy_policy")).json()
            assert again["updated_at"] == policy["updated_at"]
            found = (await http.get("/api/v1/instance/terms_of_service")).json()
            assert found == {"effective_date": "2026-03-04", "effective": True,
                             "succeeded_by": None,  # no script, handler or javascript: link
                             "content": '<h2>Rules</h2><p>Be kind.</p>'
                                        '<a rel="nofollow noopener noreferrer">no</a>'}
            page = await http.get("/terms-of-service")
            assert page.status_code == 200 and "Be kind." in page.text
            instance = (await http.get("/api/v2/instance")).json()
            assert instance["configuration"]["urls"]["terms_of_service"] == (
                inst.base_url + "/terms-of-service")
            terms.write_text("<p>Be kinder.</p>", encoding="utf-8")  # read at each request
            changed = (await http.get("/api/v1/instance/terms_of_service")).json()
            assert changed["content"] == "<p>Be kinder.</p>"
            assert changed["effective_date"] == datetime.now(UTC).date().isoformat()
        terms_of_service = await asyncio.to_thread(client.instance_terms_of_service)
        assert terms_of_service.content == "<p>Be kinder.</p>"


def test_settings_read_the_texts_from_the_environment() -> None:
    settings = load({"FEDIVERSE_TERMS_OF_SERVICE": "<p>Hi</p>",
                     "FEDIVERSE_PRIVACY_POLICY_FILE": "/etc/policy.html"})
    assert settings.terms_of_service == "<p>Hi</p>"
    assert settings.privacy_policy_file == "/etc/policy.html"
    assert load({}).extended_description == ""
