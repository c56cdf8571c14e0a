"""pyovn container: container ports through the networking API, the life cycle of
ovn-architecture(7) "Life Cycle of a Container Interface Inside a VM".

  pyovn container create --vm-port VMPORT --network NET [--name N] [--tag T|auto] [--wait]
  pyovn container create --network NET [--name N]          (a container as an ordinary port)
  pyovn container delete PORT
  pyovn container list --vm-port VMPORT
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class ApiClient:
    def __init__(self, url: str, token: str | None = None, project: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.project = project

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("X-Auth-Token", self.token)
        if self.project:
            req.add_header("X-Project-Id", self.project)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            try:
                detail = json.loads(detail)["NeutronError"]["message"]
            except (ValueError, KeyError, TypeError):
                pass
            raise SystemExit(
                f"pyovn container: {method} {path}: HTTP {exc.code}: {detail}"
            ) from None
        except urllib.error.URLError as exc:
            raise SystemExit(
                f"pyovn container: cannot reach the API at {self.url}: {exc.reason}"
            ) from None
        return json.loads(raw) if raw else None

    def find_port(self, ident: str) -> dict[str, Any]:
        """A port by id or by name."""
        ports = self.call("GET", "/v2.0/ports")["ports"]
        found = [p for p in ports if p["id"] == ident] or [p for p in ports if p["name"] == ident]
        if not found:
            raise SystemExit(f"pyovn container: no port {ident}")
        if len(found) > 1:
            raise SystemExit(f"pyovn container: more than one port is named {ident}; use its id")
        return found[0]

    def find_network(self, ident: str) -> dict[str, Any]:
        nets = self.call("GET", "/v2.0/networks")["networks"]
        found = [n for n in nets if n["id"] == ident] or [n for n in nets if n["name"] == ident]
        if len(found) != 1:
            raise SystemExit(f"pyovn container: no single network {ident}")
        return found[0]


def _summary(port: dict[str, Any]) -> dict[str, Any]:
    profile = port.get("binding:profile") or {}
    return {
        "id": port["id"],
        "name": port["name"],
        "network_id": port["network_id"],
        "mac_address": port["mac_address"],
        "ip_addresses": [a["ip_address"] for a in port["fixed_ips"]],
        "parent": profile.get("parent_name"),
        "tag": profile.get("tag"),
        "status": port["status"],
    }


def _print(ports: list[dict[str, Any]], fmt: str, one: bool = False) -> None:
    """``one``: print the single port as an object (create); otherwise a list (list)."""
    rows = [_summary(p) for p in ports]
    if fmt == "json":
        print(json.dumps(rows[0] if one else rows, indent=2))
        return
    head = ("ID", "NAME", "MAC", "IP", "TAG", "STATUS")
    table = [head] + [
        (
            r["id"],
            r["name"],
            r["mac_address"],
            ",".join(r["ip_addresses"]),
            str(r["tag"] if r["tag"] is not None else "-"),
            r["status"],
        )
        for r in rows
    ]
    widths = [max(len(t[i]) for t in table) for i in range(len(head))]
    for t in table:
        print("  ".join(c.ljust(w) for c, w in zip(t, widths, strict=True)).rstrip())


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="pyovn container",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--api-url", default=os.environ.get("PYOVN_API_URL", "http://127.0.0.1:9696"))
    p.add_argument("--token", default=os.environ.get("PYOVN_API_TOKEN"))
    p.add_argument("--project", default=os.environ.get("PYOVN_PROJECT"))
    p.add_argument("--format", choices=("table", "json"), default="table")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--format", choices=("table", "json"), default=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="verb", required=True)
    c = sub.add_parser("create", help="create a container's port", parents=[common])
    c.add_argument("--vm-port", help="the VM's port (id or name): the container is inside it")
    c.add_argument("--network", required=True, help="network (id or name) for the container")
    c.add_argument("--name", default="")
    c.add_argument("--tag", default="auto", help="VLAN tag 1..4095 or auto (default)")
    c.add_argument("--wait", action="store_true", help="wait until the port is ACTIVE")
    c.add_argument("--timeout", type=float, default=60.0)
    d = sub.add_parser("delete", help="delete a container's port", parents=[common])
    d.add_argument("port")
    ls = sub.add_parser("list", help="containers inside a VM", parents=[common])
    ls.add_argument("--vm-port", required=True)
    args = p.parse_args(argv)
    api = ApiClient(args.api_url, args.token, args.project)

    if args.verb == "create":
        net = api.find_network(args.network)
        body: dict[str, Any] = {
            "network_id": net["id"],
            "name": args.name,
            "device_owner": "container",
        }
        if args.vm_port:
            vm = api.find_port(args.vm_port)
            if args.tag == "auto":
                tag: Any = "auto"
            else:
                try:
                    tag = int(args.tag)
                except ValueError:
                    p.error("--tag must be an integer 1..4095 or auto")
            body["binding:profile"] = {"parent_name": vm["id"], "tag": tag}
        elif args.tag != "auto":
            p.error("--tag needs --vm-port")
        port = api.call("POST", "/v2.0/ports", {"port": body})["port"]
        if args.wait:
            deadline = time.monotonic() + args.timeout
            while port["status"] != "ACTIVE":
                if time.monotonic() > deadline:
                    print(
                        f"pyovn container: {port['id']} not ACTIVE after {args.timeout:.0f} s",
                        file=sys.stderr,
                    )
                    _print([port], args.format, one=True)
                    return 1
                time.sleep(0.05)
                port = api.call("GET", f"/v2.0/ports/{port['id']}")["port"]
        _print([port], args.format, one=True)
        return 0
    if args.verb == "delete":
        port = api.find_port(args.port)
        api.call("DELETE", f"/v2.0/ports/{port['id']}")
        return 0
    vm = api.find_port(args.vm_port)
    ports = api.call("GET", "/v2.0/ports")["ports"]
    children = [x for x in ports if (x.get("binding:profile") or {}).get("parent_name") == vm["id"]]
    _print(children, args.format)
    return 0
