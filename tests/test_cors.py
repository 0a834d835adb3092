"""Browser apps (Elk, Phanpy) call the API from other origins: CORS answers their preflights."""

from __future__ import annotations

import pytest

from tests.instances import running_instance


@pytest.fixture
async def instance(tmp_path, database_url):
    async with running_instance(tmp_path / "a", database_url) as inst:
        yield inst


@pytest.mark.parametrize("path", ["/api/v1/instance", "/oauth/token", "/api/v1/statuses"])
async def test_preflight_is_allowed(instance, path):
    async with instance.client() as http:
        r = await http.options(path, headers={
            "Origin": "https://elk.zone",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        })
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] in ("*", "https://elk.zone")
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "authorization" in r.headers["access-control-allow-headers"].lower()


async def test_responses_expose_link_and_rate_limit_headers(instance):
    async with instance.client() as http:
        r = await http.get("/api/v1/timelines/public", headers={"Origin": "https://elk.zone"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "*"
    exposed = r.headers["access-control-expose-headers"].lower()
    assert "link" in exposed and "x-ratelimit-remaining" in exposed
