"""The app answers the same whether a route is imported before start-up or just after it
(`fediverse.app.LazyRoutes`): matches, 404s, 405s and slash redirects on both sides."""

from __future__ import annotations

import asyncio

from fediverse.app import EAGER_PATHS, LazyRoutes, lazy_routes
from tests.instances import running_instance


async def test_routes_before_and_after_the_split_answer_alike(tmp_path, new_database_url):
    async with running_instance(tmp_path, await new_database_url()) as inst, inst.client() as http:
        eager = await http.get("/.well-known/nodeinfo")
        assert eager.status_code == 200
        assert eager.json()["links"][0]["href"].startswith(inst.base_url + "/nodeinfo/2.")
        assert (await http.get(eager.json()["links"][0]["href"])).status_code == 200  # lazy
        assert (await http.post("/.well-known/nodeinfo")).status_code == 405
        assert (await http.delete("/api/v1/instance")).status_code == 405
        missing = await http.get("/no/such/page")
        assert missing.status_code == 404
        moved = await http.get("/api/v1/instance/rules/")
        assert moved.status_code in (307, 308)
        assert moved.headers["location"].endswith("/api/v1/instance/rules")
        answer = await http.get("/api/v1/instance", headers={"Origin": "https://app.example"})
        assert answer.status_code == 200  # through the middleware like any route
        assert answer.headers["access-control-allow-origin"] == "*"


def test_no_path_is_served_on_both_sides():
    lazy_paths = {getattr(route, "path", None) for route in lazy_routes()}
    assert not lazy_paths & EAGER_PATHS
    assert "/api/v1/instance" in lazy_paths and "/.well-known/webfinger" in lazy_paths


async def test_concurrent_first_requests_build_the_router_once():
    built = []

    def build():  # type: ignore[no-untyped-def]
        built.append(1)
        return lazy_routes()

    lazy = LazyRoutes(build)
    routers = await asyncio.gather(*(lazy.load() for _ in range(5)))
    assert len(built) == 1 and all(router is routers[0] for router in routers)
