"""openstacksdk, the OpenStack client library, against pyovn's API with no Keystone:
``auth_type="none"`` (or ``"admin_token"`` for --auth=token) and
``network_endpoint_override`` = the API's root URL (openstacksdk discovers v2.0 from the
version document there). The whole chain runs: API -> NB -> northd -> SB -> two simulated
chassis; a VM port becomes ACTIVE once its VIF is plugged on a chassis, and a container's
port inside that VM becomes ACTIVE too."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.api import ThreadedApi

openstack = pytest.importorskip("openstack", reason="openstacksdk is not installed")
# openstacksdk's own deprecation notices (about its internals, not about how it is called)
pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")


def connect(url: str, token: str | None = None) -> Any:
    if token is None:
        return openstack.connection.Connection(auth_type="none", network_endpoint_override=url)
    return openstack.connection.Connection(
        auth_type="admin_token",
        auth={"token": token, "endpoint": url},
        network_endpoint_override=url,
    )


def wait(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.05)


def test_openstacksdk_end_to_end(tmp_path: Path) -> None:
    with ThreadedApi(tmp_path, n_chassis=2) as api:
        conn = connect(api.url)
        net = conn.network.create_network(name="tenant")
        mgmt = conn.network.create_network(name="mgmt")
        subnet = conn.network.create_subnet(
            network_id=net.id, cidr="10.0.0.0/24", ip_version=4, name="tenant-v4"
        )
        conn.network.create_subnet(network_id=mgmt.id, cidr="192.168.0.0/24", ip_version=4)
        assert subnet.cidr == "10.0.0.0/24" and subnet.gateway_ip == "10.0.0.1"

        vm = conn.network.create_port(network_id=mgmt.id, name="vm1")
        vm2 = conn.network.create_port(network_id=net.id, name="vm2")
        c1 = conn.network.create_port(
            network_id=net.id, name="c1", binding_profile={"parent_name": vm.id, "tag": 10}
        )
        c2 = conn.network.create_port(
            network_id=net.id, name="c2", binding_profile={"parent_name": vm.id, "tag": "auto"}
        )
        assert c1.binding_profile == {"parent_name": vm.id, "tag": 10}
        assert c2.binding_profile == {"parent_name": vm.id, "tag": 1}
        assert c1.status == "DOWN" and c1.fixed_ips[0]["subnet_id"] == subnet.id
        with pytest.raises(openstack.exceptions.ConflictException):
            conn.network.create_port(
                network_id=net.id, binding_profile={"parent_name": vm.id, "tag": 10}
            )
        with pytest.raises(openstack.exceptions.BadRequestException):
            conn.network.create_port(network_id=net.id, binding_profile={"tag": 10})

        got = conn.network.get_port(c1.id)
        assert got.name == "c1" and got.binding_profile["tag"] == 10
        assert got.mac_address == c1.mac_address
        names = sorted(p.name for p in conn.network.ports(network_id=net.id))
        assert names == ["c1", "c2", "vm2"]
        assert [p.id for p in conn.network.ports(name="c2")] == [c2.id]

        # NB as Neutron's OVN driver writes it; northd assigns the tags it was asked for
        row = api.lsp(c1.id)
        assert row.one("parent_name") == vm.id and row.one("tag_request") == 10
        wait(lambda: api.lsp(c1.id).one("tag") == 10)

        # the hypervisor plugs the VMs' interfaces: the chassis bind them, northd sets up
        api.plug(0, "vm1-eth0", vm.id)
        api.plug(1, "vm2-eth0", vm2.id)
        for port in (vm, vm2, c1, c2):  # containers follow their VM's binding
            wait(lambda p=port: conn.network.get_port(p.id).status == "ACTIVE")
        assert conn.network.get_port(c2.id).binding_profile == {"parent_name": vm.id, "tag": 1}

        updated = conn.network.update_port(c2.id, name="c2-renamed")
        assert updated.name == "c2-renamed" and updated.revision_number == 2

        for port in (c1, c2, vm, vm2):
            conn.network.delete_port(port.id)
        assert list(conn.network.ports()) == []
        wait(lambda: api.nb_rows("Logical_Switch_Port") == [])
        conn.network.delete_subnet(subnet.id)
        conn.network.delete_network(net.id)
        conn.network.delete_network(mgmt.id)
        assert api.nb_rows("Logical_Switch") == []


def test_openstacksdk_with_a_token(tmp_path: Path) -> None:
    with ThreadedApi(tmp_path, auth="token", token="s3cret") as api:
        net = connect(api.url, token="s3cret").network.create_network(name="mine")
        assert net.name == "mine"
        for conn in (connect(api.url), connect(api.url, token="wrong")):
            with pytest.raises(openstack.exceptions.HttpException) as err:
                list(conn.network.networks())
            assert err.value.status_code == 401
