"""The HTTP layer: Neutron's v2.0 API (envelopes, filters, field selection, errors) on aiohttp.
Thin by design: it parses and renders; pyovn.api.ports/service do the work."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from pyovn import __version__
from pyovn.api.errors import ApiError, BadRequest, Unauthorized
from pyovn.api.openapi import openapi_document
from pyovn.api.ports import PortService

log = logging.getLogger("pyovn.api")

RESOURCES = {"networks": "network", "subnets": "subnet", "ports": "port"}
EXTENSIONS = [
    ("binding", "Port Binding", "Expose port bindings of a virtual port to external application"),
    ("port-security", "Port Security", "Provides port security"),
    (
        "standard-attr-revisions",
        "Resource revision numbers",
        "This extension will display the revision number of neutron resources.",
    ),
    (
        "project-id",
        "project_id field enabled",
        "Extension that indicates that project_id field is enabled.",
    ),
    ("net-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
    (
        "trunk-containers",
        "Containers inside VMs",
        "binding:profile parent_name and tag place a container's port inside a VM's port (pyovn)",
    ),
]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SERVICE = web.AppKey("service", PortService)


def make_app(
    service: PortService, auth: str = "noauth", token: str | None = None
) -> web.Application:
    @web.middleware
    async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            public = request.path in ("/", "/openapi.json")
            if auth == "token" and not public and request.headers.get("X-Auth-Token") != token:
                raise Unauthorized("Authentication required")
            return await handler(request)
        except ApiError as exc:
            return web.json_response(exc.body(), status=exc.status)
        except web.HTTPException as exc:
            if exc.status >= 400:
                body = {
                    "NeutronError": {
                        "type": type(exc).__name__,
                        "message": exc.reason,
                        "detail": "",
                    }
                }
                headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
                return web.json_response(body, status=exc.status, headers=headers)
            raise
        except Exception:  # a bug: answer in Neutron's envelope and log it
            log.exception("%s %s failed", request.method, request.path)
            body = {
                "NeutronError": {
                    "type": "HTTPInternalServerError",
                    "message": "Request Failed: internal server error while processing your "
                    "request.",
                    "detail": "",
                }
            }
            return web.json_response(body, status=500)

    app = web.Application(middlewares=[errors], client_max_size=1024 * 1024)
    api = _Api(service)
    app.router.add_get("/", api.versions)
    app.router.add_get("/openapi.json", api.openapi)
    app.router.add_get("/v2.0", api.resources)
    app.router.add_get("/v2.0/", api.resources)
    app.router.add_get("/v2.0/extensions", api.extensions)
    app.router.add_get("/v2.0/extensions/{alias}", api.extension)
    for collection in RESOURCES:
        app.router.add_get(f"/v2.0/{collection}", api.lister(collection))
        app.router.add_post(f"/v2.0/{collection}", api.creator(collection))
        app.router.add_get(f"/v2.0/{collection}/{{id}}", api.shower(collection))
        app.router.add_put(f"/v2.0/{collection}/{{id}}", api.updater(collection))
        app.router.add_delete(f"/v2.0/{collection}/{{id}}", api.deleter(collection))
    app[SERVICE] = service
    return app


class _Api:
    def __init__(self, service: PortService) -> None:
        self.s = service

    async def versions(self, request: web.Request) -> web.Response:
        base = str(request.url.with_path("/v2.0/").with_query(None))
        return web.json_response(
            {
                "versions": [
                    {"id": "v2.0", "status": "CURRENT", "links": [{"href": base, "rel": "self"}]}
                ]
            }
        )

    async def openapi(self, request: web.Request) -> web.Response:
        return web.json_response(openapi_document(__version__))

    async def resources(self, request: web.Request) -> web.Response:
        base = str(request.url.with_path("/v2.0").with_query(None))
        return web.json_response(
            {
                "resources": [
                    {
                        "name": one,
                        "collection": many,
                        "links": [{"href": f"{base}/{many}", "rel": "self"}],
                    }
                    for many, one in RESOURCES.items()
                ]
            }
        )

    async def extensions(self, request: web.Request) -> web.Response:
        return web.json_response({"extensions": [_ext(*e) for e in EXTENSIONS]})

    async def extension(self, request: web.Request) -> web.Response:
        alias = request.match_info["alias"]
        for e in EXTENSIONS:
            if e[0] == alias:
                return web.json_response({"extension": _ext(*e)})
        raise ApiError(f"Extension {alias} not supported.", "ExtensionNotFound", 404)

    # ------------------------------------------------------------------ collections

    def _list(self, collection: str) -> list[dict[str, Any]]:
        return {
            "networks": self.s.list_networks,
            "subnets": self.s.list_subnets,
            "ports": self.s.list_ports,
        }[collection]()

    def _show(self, collection: str, ident: str) -> dict[str, Any]:
        return {
            "networks": self.s.get_network,
            "subnets": self.s.get_subnet,
            "ports": self.s.get_port,
        }[collection](ident)

    def lister(self, collection: str) -> Handler:
        async def handler(request: web.Request) -> web.Response:
            fields = request.query.getall("fields", [])
            filters: dict[str, list[str]] = {}
            for key, value in request.query.items():
                if key not in ("fields", "limit", "marker", "sort_key", "sort_dir", "page_reverse"):
                    filters.setdefault(key, []).append(value)

            def query() -> list[dict[str, Any]]:  # in a thread: SQL blocks
                items = self._list(collection)
                return [_select(i, fields) for i in items if _matches(i, filters)]

            return web.json_response({collection: await asyncio.to_thread(query)})

        return handler

    def shower(self, collection: str) -> Handler:
        async def handler(request: web.Request) -> web.Response:
            item = await asyncio.to_thread(self._show, collection, request.match_info["id"])
            fields = request.query.getall("fields", [])
            return web.json_response({RESOURCES[collection]: _select(item, fields)})

        return handler

    def creator(self, collection: str) -> Handler:
        one = RESOURCES[collection]

        async def handler(request: web.Request) -> web.Response:
            body = await _body(request, one)
            project = (
                request.headers.get("X-Project-Id") or request.headers.get("X-Tenant-Id") or "pyovn"
            )
            create = {
                "networks": self.s.create_network,
                "subnets": self.s.create_subnet,
                "ports": self.s.create_port,
            }[collection]
            if isinstance(body, list):  # bulk create: {"ports": [...]}, all or nothing
                out: list[dict[str, Any]] = []
                try:
                    for item in body:
                        out.append(await create(item, project))
                except ApiError:
                    delete = {
                        "networks": self.s.delete_network,
                        "subnets": self.s.delete_subnet,
                        "ports": self.s.delete_port,
                    }[collection]
                    for done in reversed(out):  # undo the ones created, as Neutron does
                        try:
                            await delete(done["id"])
                        except ApiError as exc:
                            log.warning("bulk create: could not undo %s: %s", done["id"], exc)
                    raise
                return web.json_response({collection: out}, status=201)
            item = await create(body, project)
            return web.json_response({one: item}, status=201)

        return handler

    def updater(self, collection: str) -> Handler:
        one = RESOURCES[collection]

        async def handler(request: web.Request) -> web.Response:
            body = await _body(request, one)
            if isinstance(body, list):
                raise BadRequest("Bulk update is not supported")
            update = {
                "networks": self.s.update_network,
                "subnets": self.s.update_subnet,
                "ports": self.s.update_port,
            }[collection]
            return web.json_response({one: await update(request.match_info["id"], body)})

        return handler

    def deleter(self, collection: str) -> Handler:
        async def handler(request: web.Request) -> web.Response:
            delete = {
                "networks": self.s.delete_network,
                "subnets": self.s.delete_subnet,
                "ports": self.s.delete_port,
            }[collection]
            await delete(request.match_info["id"])
            return web.Response(status=204)

        return handler


def _ext(alias: str, name: str, description: str) -> dict[str, Any]:
    return {
        "alias": alias,
        "name": name,
        "description": description,
        "updated": "2026-11-29T00:00:00-00:00",
        "links": [],
    }


async def _body(request: web.Request, one: str) -> Any:
    try:
        data = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise BadRequest("Malformed request body: not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest(f"Malformed request body: expected an object with a '{one}' member")
    many = one + "s"
    if one in data and isinstance(data[one], dict) and len(data) == 1:
        return data[one]
    if many in data and isinstance(data[many], list) and len(data) == 1:
        if not data[many] or not all(isinstance(x, dict) for x in data[many]):
            raise BadRequest(
                f"Malformed request body: '{many}' must be a non-empty list of objects"
            )
        return data[many]
    raise BadRequest(f"Malformed request body: expected an object with a '{one}' member")


def _select(item: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    if not fields:
        return item
    return {k: v for k, v in item.items() if k in fields}


def _matches(item: dict[str, Any], filters: dict[str, list[str]]) -> bool:
    for key, wanted in filters.items():
        if key == "fixed_ips":
            ok = False
            for spec in wanted:
                name, _, value = spec.partition("=")
                ok = ok or any(str(a.get(name)) == value for a in item.get("fixed_ips", []))
            if not ok:
                return False
            continue
        if key not in item:
            return False
        have = item[key]
        texts = {json.dumps(have) if not isinstance(have, str) else have, str(have).lower()}
        if isinstance(have, bool):
            texts = {"true" if have else "false", "True" if have else "False"}
        if not any(w in texts for w in wanted):
            return False
    return True
