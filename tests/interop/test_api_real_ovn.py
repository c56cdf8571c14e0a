"""pyovn's networking API driving a real OVN: Debian's ovsdb-server serving NB and SB from
OVN's own schemas (/usr/share/ovn/ovn-nb.ovsschema, ovn-sb.ovsschema), Debian's ovn-northd,
and `pyovn api` against that NB. The rows must be the ones Neutron's OVN driver writes
(ovn-nbctl reads them back), the real northd assigns the container tags, ports turn ACTIVE
when real OVN reports them up (a chassis registered and the ports bound with ovn-sbctl),
and `pyovn api --sync=repair` puts back what ovn-nbctl deleted behind the API's back."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.api import ApiProcess, SyncClient, run_sync
from tests.support.servers import ServerProcess, start_real_server, wait_for_socket

OVN_SCHEMAS = Path("/usr/share/ovn")
pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(
        not all(shutil.which(t) for t in ("ovsdb-server", "ovsdb-tool", "ovn-northd"))
        or not all(shutil.which(t) for t in ("ovn-nbctl", "ovn-sbctl"))
        or not (OVN_SCHEMAS / "ovn-nb.ovsschema").exists(),
        reason="Debian's OVN is not installed (apt install ovn-central ovn-common)",
    ),
]


class RealOvn:
    """NB and SB ovsdb-servers with OVN's schemas, and ovn-northd between them."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.nb: ServerProcess | None = None
        self.sb: ServerProcess | None = None
        self.northd: subprocess.Popen[bytes] | None = None

    def start(self) -> RealOvn:
        for name, schema in (("nb", "ovn-nb.ovsschema"), ("sb", "ovn-sb.ovsschema")):
            db = self.workdir / f"{name}.db"
            subprocess.run(
                ["ovsdb-tool", "create", str(db), str(OVN_SCHEMAS / schema)],
                check=True,
                capture_output=True,
            )
        self.nb = start_real_server(self.workdir, name="nb")
        self.sb = start_real_server(self.workdir, name="sb")
        ctl = self.workdir / "northd.ctl"
        with open(self.workdir / "northd.stderr", "ab") as err:
            self.northd = subprocess.Popen(
                [
                    "ovn-northd",
                    "--no-chdir",
                    f"--ovnnb-db={self.nb.remote}",
                    f"--ovnsb-db={self.sb.remote}",
                    f"--unixctl={ctl}",
                    f"--log-file={self.workdir / 'northd.log'}",
                ],
                stdout=subprocess.DEVNULL,
                stderr=err,
                cwd=self.workdir,
            )
        wait_for_socket(ctl, self.northd)
        return self

    def stop(self) -> None:
        if self.northd is not None and self.northd.poll() is None:
            self.northd.send_signal(signal.SIGTERM)
            try:
                self.northd.wait(15)
            except subprocess.TimeoutExpired:
                self.northd.kill()
                self.northd.wait(15)
        for server in (self.sb, self.nb):
            if server is not None:
                server.kill(signal.SIGTERM)

    def nbctl(self, *args: str) -> str:
        assert self.nb is not None
        return _ctl("ovn-nbctl", self.nb.remote, args)

    def sbctl(self, *args: str) -> str:
        assert self.sb is not None
        return _ctl("ovn-sbctl", self.sb.remote, args)

    def lsp(self, name: str) -> dict[str, Any] | None:
        """One Logical_Switch_Port as ovn-nbctl lists it (JSON, OVSDB wire format)."""
        out = json.loads(self.nbctl("--format=json", "find", "Logical_Switch_Port", f"name={name}"))
        if not out["data"]:
            return None
        return dict(zip(out["headings"], out["data"][0], strict=True))

    def lsp_names(self) -> set[str]:
        return set(self.nbctl("--bare", "--columns=name", "list", "Logical_Switch_Port").split())


def _ctl(tool: str, remote: str, args: tuple[str, ...]) -> str:
    out = subprocess.run(
        [tool, f"--db={remote}", "--timeout=30", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, f"{tool} {' '.join(args)}: {out.stderr}"
    return out.stdout


def _set(value: Any) -> set[Any]:
    """An OVSDB wire datum (atom, ["set", [...]] or ["uuid", ...]) as a Python set."""
    if isinstance(value, list) and value and value[0] == "set":
        return {_atom(v) for v in value[1]}
    return {_atom(value)}


def _atom(value: Any) -> Any:
    return value[1] if isinstance(value, list) and value and value[0] == "uuid" else value


def _map(value: Any) -> dict[str, str]:
    assert value[0] == "map"
    return dict(value[1])


def wait(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.1)


@pytest.fixture
def ovn(tmp_path: Path) -> Iterator[RealOvn]:
    real = RealOvn(tmp_path)
    try:
        yield real.start()
    finally:
        real.stop()


@pytest.fixture
def api(tmp_path: Path, ovn: RealOvn) -> Iterator[ApiProcess]:
    assert ovn.nb is not None
    with ApiProcess(
        tmp_path, ovn.nb.remote, f"sqlite:///{tmp_path / 'api.db'}", ["--sync-interval=0"]
    ) as process:
        yield process


def _bind(ovn: RealOvn, port_id: str) -> None:
    """What ovn-controller does when it claims a port on its chassis. Port_Binding.up is
    left alone: the chassis registered by chassis-add does not announce the port-up-notif
    feature, so ovn-northd (23.03) sets Logical_Switch_Port.up from the binding alone."""
    ovn.sbctl("lsp-bind", port_id, "hv1")


def _binding_exists(ovn: RealOvn, port_id: str) -> bool:
    found = ovn.sbctl(
        "--bare", "--columns=_uuid", "find", "Port_Binding", f"logical_port={port_id}"
    )
    return bool(found.strip())


def test_api_against_real_ovn(ovn: RealOvn, api: ApiProcess, tmp_path: Path) -> None:
    c = SyncClient(api.url)
    mgmt = c.network("mgmt")
    tenant = c.network("tenant", mtu=1400)
    c.subnet(mgmt["id"], "192.168.0.0/24")
    subnet = c.subnet(tenant["id"], "10.0.0.0/24", dns_nameservers=["10.0.0.53"])
    vm = c.port(mgmt["id"], name="vm1", device_id="instance-1", device_owner="compute:nova")
    c1 = c.port(
        tenant["id"], name="c1", **{"binding:profile": {"parent_name": vm["id"], "tag": 10}}
    )
    c2 = c.port(tenant["id"], name="c2", **{"binding:profile": {"parent_name": vm["id"]}})
    assert c2["binding:profile"] == {"parent_name": vm["id"], "tag": 1}
    taken = {"network_id": tenant["id"], "binding:profile": {"parent_name": vm["id"], "tag": 10}}
    status, body = c.request("POST", "/v2.0/ports", {"port": taken})
    assert status == 409 and body["NeutronError"]["type"] == "TagInUse"

    # the switches, as Neutron's OVN driver names and annotates them
    ls = json.loads(
        ovn.nbctl("--format=json", "find", "Logical_Switch", f"name=neutron-{tenant['id']}")
    )
    row = dict(zip(ls["headings"], ls["data"][0], strict=True))
    ids = _map(row["external_ids"])
    assert ids["neutron:network_name"] == "tenant" and ids["neutron:mtu"] == "1400"
    assert ids["neutron:revision_number"] == "1"
    assert len(_set(row["ports"])) == 2
    dhcp = ovn.nbctl("--bare", "--columns=cidr", "list", "DHCP_Options").split()
    assert sorted(dhcp) == ["10.0.0.0/24", "192.168.0.0/24"]

    # the ports: name, addresses, port_security, external_ids neutron:*, parent_name, tag_request
    vm_row = ovn.lsp(vm["id"])
    assert vm_row is not None
    vm_addr = f"{vm['mac_address']} {vm['fixed_ips'][0]['ip_address']}"
    assert _set(vm_row["addresses"]) == {vm_addr}
    assert _set(vm_row["port_security"]) == {vm_addr}
    vm_ids = _map(vm_row["external_ids"])
    assert vm_ids["neutron:port_name"] == "vm1"
    assert vm_ids["neutron:device_id"] == "instance-1"
    assert vm_ids["neutron:device_owner"] == "compute:nova"
    assert vm_ids["neutron:network_name"] == f"neutron-{mgmt['id']}"
    assert vm_ids["neutron:cidrs"] == f"{vm['fixed_ips'][0]['ip_address']}/24"
    assert vm_ids["neutron:revision_number"] == "1"
    assert _set(vm_row["parent_name"]) == set() and _set(vm_row["tag_request"]) == set()
    for port, tag in ((c1, 10), (c2, 1)):
        row = ovn.lsp(port["id"])
        assert row is not None and row["parent_name"] == vm["id"]
        assert row["tag_request"] == tag
        assert _map(row["external_ids"])["neutron:port_name"] == port["name"]
    assert f"{c1['mac_address']} {c1['fixed_ips'][0]['ip_address']}" in ovn.nbctl(
        "lsp-get-addresses", c1["id"]
    )
    assert ovn.nbctl("lsp-get-parent", c1["id"]).strip() == vm["id"]

    # the real northd assigns the tags (NB tag column) from tag_request
    wait(lambda: ovn.nbctl("lsp-get-tag", c1["id"]).strip() == "10")
    wait(lambda: ovn.nbctl("lsp-get-tag", c2["id"]).strip() == "1")
    assert subnet["id"] in ovn.nbctl("--bare", "--columns=external_ids", "list", "DHCP_Options")

    # real OVN reports the ports up: a chassis claims them, northd sets Logical_Switch_Port.up
    ovn.sbctl("chassis-add", "hv1", "geneve", "127.0.0.1")
    wait(lambda: _binding_exists(ovn, c2["id"]))
    for port in (vm, c1, c2):
        _bind(ovn, port["id"])
    for port in (vm, c1, c2):
        wait(lambda p=port: c.ok("GET", f"/v2.0/ports/{p['id']}")["port"]["status"] == "ACTIVE")
    assert ovn.nbctl("get", "Logical_Switch_Port", c1["id"], "up").strip() == "true"

    # an update bumps the revision in NB
    c.ok("PUT", f"/v2.0/ports/{c1['id']}", {"port": {"name": "c1-renamed"}})
    c1_ids = _map(ovn.lsp(c1["id"])["external_ids"])  # type: ignore[index]
    assert c1_ids["neutron:port_name"] == "c1-renamed"
    assert c1_ids["neutron:revision_number"] == "2"

    # deleted behind the API's back with ovn-nbctl: --sync=log reports, --sync=repair restores
    ovn.nbctl("lsp-del", c2["id"])
    assert c2["id"] not in ovn.lsp_names()
    assert ovn.nb is not None
    code, out = run_sync(ovn.nb.remote, f"sqlite:///{tmp_path / 'api.db'}", "log", tmp_path)
    assert code == 0 and f"created Logical_Switch_Port {c2['id']}" in out, out
    assert c2["id"] not in ovn.lsp_names()
    code, out = run_sync(ovn.nb.remote, f"sqlite:///{tmp_path / 'api.db'}", "repair", tmp_path)
    assert code == 0 and "repaired 1 difference(s)" in out, out
    assert ovn.lsp(c2["id"])["tag_request"] == 1  # type: ignore[index]

    # deleting through the API leaves no Logical_Switch_Port behind
    for port in (c1, c2, vm):
        c.ok("DELETE", f"/v2.0/ports/{port['id']}", status=204)
    assert ovn.lsp_names() == set()
    wait(lambda: not ovn.sbctl("--bare", "--columns=logical_port", "list", "Port_Binding").strip())
    c.ok("DELETE", f"/v2.0/networks/{tenant['id']}", status=204)
    c.ok("DELETE", f"/v2.0/networks/{mgmt['id']}", status=204)
    assert ovn.nbctl("--bare", "--columns=name", "list", "Logical_Switch").strip() == ""
    assert ovn.nbctl("--bare", "--columns=cidr", "list", "DHCP_Options").strip() == ""


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_openstacksdk_against_real_ovn(ovn: RealOvn, api: ApiProcess) -> None:
    openstack = pytest.importorskip("openstack", reason="openstacksdk is not installed")
    conn = openstack.connection.Connection(auth_type="none", network_endpoint_override=api.url)
    net = conn.network.create_network(name="sdk")
    conn.network.create_subnet(network_id=net.id, cidr="10.5.0.0/24", ip_version=4)
    vm = conn.network.create_port(network_id=net.id, name="vm")
    kid = conn.network.create_port(
        network_id=net.id, name="kid", binding_profile={"parent_name": vm.id, "tag": 42}
    )
    wait(lambda: ovn.nbctl("lsp-get-tag", kid.id).strip() == "42")
    ovn.sbctl("chassis-add", "hv1", "geneve", "127.0.0.1")
    for port in (vm, kid):
        wait(lambda p=port: _binding_exists(ovn, p.id))
        _bind(ovn, port.id)
    for port in (vm, kid):
        wait(lambda p=port: conn.network.get_port(p.id).status == "ACTIVE")
    assert sorted(p.name for p in conn.network.ports(network_id=net.id)) == ["kid", "vm"]
    conn.network.delete_port(kid.id)
    conn.network.delete_port(vm.id)
    assert ovn.lsp_names() == set()
