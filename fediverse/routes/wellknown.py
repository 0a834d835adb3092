"""WebFinger, host-meta and NodeInfo."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from activitypub import nodeinfo, webfinger
from fediverse.routes.common import error, json_response, state
from fediverse.state import VERSION

JRD = "application/jrd+json; charset=utf-8"
CORS = {"Access-Control-Allow-Origin": "*"}


async def webfinger_route(request: Request) -> Response:
    from models.accounts import get_account  # the models are not on the start-up path

    fv = state(request)
    resource = request.query_params.get("resource", "")
    try:
        username = webfinger.parse_resource(resource, local_domain=fv.settings.domain)
    except webfinger.WebFingerError as exc:
        return error(exc.status, exc.reason)
    if username.lower() == fv.settings.domain.lower() or username.lower() == fv.settings.host.lower():
        # the instance actor, as Mastodon names it: acct:DOMAIN@DOMAIN
        actor_url = fv.urls.instance_actor
        doc = webfinger.build_jrd(
            username=username, domain=fv.settings.domain, actor_url=actor_url,
            profile_url=fv.urls.base + "/about",
        )
        return json_response(doc, media_type=JRD, headers=CORS)
    async with fv.sessions() as session:
        account = await get_account(session, username)
    if account is None:
        return error(404, f"no account named {username!r} on {fv.settings.domain}")
    doc = webfinger.build_jrd(
        username=account.username, domain=fv.settings.domain,
        actor_url=fv.urls.actor(account.username), profile_url=fv.urls.profile(account.username),
    )
    return json_response(doc, media_type=JRD, headers=CORS)


async def host_meta(request: Request) -> Response:
    base = state(request).urls.base
    if request.query_params.get("format") == "json" or request.url.path.endswith(".json"):
        return json_response(webfinger.host_meta_json(base), media_type=JRD, headers=CORS)
    return Response(
        webfinger.host_meta_xml(base), media_type="application/xrd+xml; charset=utf-8", headers=CORS
    )


async def nodeinfo_links(request: Request) -> Response:
    return json_response(nodeinfo.well_known(state(request).urls.base), headers=CORS)


async def nodeinfo_document(request: Request) -> Response:
    version = request.path_params["version"]
    if version not in ("2.0", "2.1"):
        return error(404, f"NodeInfo {version} is not served; use 2.0 or 2.1")
    from models.stats import usage

    fv = state(request)
    async with fv.sessions() as session:
        counts = await usage(session)
    doc = nodeinfo.document(
        version,
        software_name="fediverse",
        software_version=VERSION,
        users_total=counts.users_total,
        users_active_month=counts.users_active_month,
        users_active_halfyear=counts.users_active_halfyear,
        local_posts=counts.local_posts,
        open_registrations=fv.settings.open_registrations,
        metadata={"nodeName": fv.settings.domain, "imageModel": fv.settings.image_model},
    )
    media_type = f'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/{version}#"'
    return json_response(doc, media_type=media_type, headers=CORS)


routes = [
    Route("/.well-known/webfinger", webfinger_route),
    Route("/.well-known/host-meta", host_meta),
    Route("/.well-known/host-meta.json", host_meta),
    Route("/.well-known/nodeinfo", nodeinfo_links),
    Route("/nodeinfo/{version}", nodeinfo_document),
]
