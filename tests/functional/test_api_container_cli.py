"""`pyovn container` (create / list / delete a container's port inside a VM) as a subprocess
against the API, with a simulated chassis binding the VM so that --wait sees ACTIVE."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.support.api import SyncClient, ThreadedApi, pyovn_cmd


def container(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYOVN_API_URL": url}
    return subprocess.run(
        pyovn_cmd("container", *args), capture_output=True, text=True, timeout=120, env=env
    )


def test_container_life_cycle(tmp_path: Path) -> None:
    with ThreadedApi(tmp_path, n_chassis=1) as api:
        c = SyncClient(api.url)
        net = c.network("apps")
        c.subnet(net["id"], "10.1.0.0/24")
        vm = c.port(net["id"], name="vm1")
        api.plug(0, "vm1", vm["id"])
        c.wait_status(vm["id"])

        out = container(
            api.url, "create", "--vm-port", "vm1", "--network", "apps", "--name", "web",
            "--wait", "--format", "json",
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        web = json.loads(out.stdout)
        assert web["parent"] == vm["id"] and web["tag"] == 1 and web["status"] == "ACTIVE"
        assert web["ip_addresses"] and web["name"] == "web"

        out = container(
            api.url, "create", "--vm-port", vm["id"], "--network", net["id"], "--name", "db",
            "--tag", "20", "--format", "json",
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        db = json.loads(out.stdout)
        assert db["tag"] == 20
        row = api.lsp(db["id"])
        assert row.one("parent_name") == vm["id"] and row.one("tag_request") == 20

        out = container(api.url, "create", "--vm-port", "vm1", "--network", "apps", "--tag", "20")
        assert out.returncode == 1 and "409" in out.stderr and "20" in out.stderr
        out = container(api.url, "create", "--vm-port", "vm1", "--network", "apps", "--tag", "0")
        assert out.returncode == 1 and "400" in out.stderr and "tag" in out.stderr
        out = container(api.url, "create", "--vm-port", "vm1", "--network", "apps", "--tag", "x")
        assert out.returncode == 2
        out = container(api.url, "create", "--network", "apps", "--tag", "5")
        assert out.returncode == 2  # a tag needs a VM
        out = container(api.url, "create", "--vm-port", "nope", "--network", "apps")
        assert out.returncode == 1 and "nope" in out.stderr

        out = container(api.url, "list", "--vm-port", "vm1", "--format", "json")
        assert out.returncode == 0, out.stderr
        listed = json.loads(out.stdout)
        assert sorted((x["name"], x["tag"]) for x in listed) == [("db", 20), ("web", 1)]
        table = container(api.url, "list", "--vm-port", "vm1")
        assert table.returncode == 0 and "TAG" in table.stdout and "web" in table.stdout

        assert container(api.url, "delete", "web").returncode == 0
        out = container(api.url, "list", "--vm-port", "vm1", "--format", "json")
        assert [x["name"] for x in json.loads(out.stdout)] == ["db"]  # a list, even of one
        assert container(api.url, "delete", db["id"]).returncode == 0
        out = container(api.url, "list", "--vm-port", "vm1", "--format", "json")
        assert json.loads(out.stdout) == []
        assert api.lsp(web["id"]) is None and api.lsp(db["id"]) is None
        out = container("http://127.0.0.1:9", "list", "--vm-port", "vm1")
        assert out.returncode == 1 and "cannot reach" in out.stderr
