"""The networking API over HTTP against a real server (aiohttp on 127.0.0.1 in a background
thread, SQLite, a pyovn NB/SB with northd): documents, validation errors (HTTP 400 naming the
field), containers inside VMs (binding:profile parent_name and tag), 404s and 409s, filters,
field selection, bulk create and token authentication."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.api import SyncClient, ThreadedApi

VM_TAG_PROFILE = "binding:profile"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedApi]:
    with ThreadedApi(tmp_path_factory.mktemp("api")) as server:
        yield server


@pytest.fixture
def c(api: ThreadedApi) -> SyncClient:
    return SyncClient(api.url)


@pytest.fixture
def net(c: SyncClient) -> dict[str, Any]:
    network = c.network("n")
    c.subnet(network["id"], "10.0.0.0/24")
    return network


@pytest.fixture
def vm(c: SyncClient, net: dict[str, Any]) -> dict[str, Any]:
    return c.port(net["id"], name="vm")


def bad_request(out: tuple[int, Any], *words: str) -> str:
    status, body = out
    assert status == 400, out
    err = body["NeutronError"]
    assert err["type"] == "HTTPBadRequest"
    for word in words:
        assert word in err["message"], (word, err["message"])
    return str(err["message"])


def conflict(out: tuple[int, Any], kind: str) -> str:
    status, body = out
    assert status == 409, out
    assert body["NeutronError"]["type"] == kind, body
    return str(body["NeutronError"]["message"])


def child(c: SyncClient, net: dict[str, Any], profile: Any) -> tuple[int, Any]:
    return c.request(
        "POST", "/v2.0/ports", {"port": {"network_id": net["id"], VM_TAG_PROFILE: profile}}
    )


# ---------------------------------------------------------------------- documents


def test_version_document(c: SyncClient, api: ThreadedApi) -> None:
    body = c.ok("GET", "/")
    (version,) = body["versions"]
    assert version["id"] == "v2.0" and version["status"] == "CURRENT"
    assert version["links"][0]["href"] == f"{api.url}/v2.0/"
    resources = c.ok("GET", "/v2.0")["resources"]
    assert {r["collection"] for r in resources} == {"networks", "subnets", "ports"}


def test_extensions(c: SyncClient) -> None:
    aliases = {e["alias"] for e in c.ok("GET", "/v2.0/extensions")["extensions"]}
    assert {"binding", "port-security", "standard-attr-revisions", "trunk-containers"} <= aliases
    one = c.ok("GET", "/v2.0/extensions/binding")["extension"]
    assert one["alias"] == "binding" and one["name"]
    status, body = c.request("GET", "/v2.0/extensions/nope")
    assert status == 404 and body["NeutronError"]["type"] == "ExtensionNotFound"


def test_openapi_document(c: SyncClient) -> None:
    doc = c.ok("GET", "/openapi.json")
    assert doc["openapi"].startswith("3.")
    assert {"/v2.0/networks", "/v2.0/ports/{id}", "/v2.0/subnets"} <= set(doc["paths"])


# ---------------------------------------------------------------------- containers inside VMs


def test_auto_tag_is_the_lowest_free_one_and_returned(
    c: SyncClient, net: dict[str, Any], vm: dict[str, Any]
) -> None:
    first = c.port(net["id"], **{VM_TAG_PROFILE: {"parent_name": vm["id"], "tag": "auto"}})
    assert first[VM_TAG_PROFILE] == {"parent_name": vm["id"], "tag": 1}
    fixed = c.port(net["id"], **{VM_TAG_PROFILE: {"parent_name": vm["id"], "tag": 3}})
    assert fixed[VM_TAG_PROFILE]["tag"] == 3
    # parent_name without tag means "auto": the lowest tag not in use is 2
    second = c.port(net["id"], **{VM_TAG_PROFILE: {"parent_name": vm["id"]}})
    assert second[VM_TAG_PROFILE] == {"parent_name": vm["id"], "tag": 2}
    third = c.port(net["id"], **{VM_TAG_PROFILE: {"parent_name": vm["id"], "tag": None}})
    assert third[VM_TAG_PROFILE]["tag"] == 4
    # a freed tag is handed out again
    c.ok("DELETE", f"/v2.0/ports/{first['id']}", status=204)
    again = c.port(net["id"], **{VM_TAG_PROFILE: {"parent_name": vm["id"]}})
    assert again[VM_TAG_PROFILE]["tag"] == 1
    assert c.ok("GET", f"/v2.0/ports/{again['id']}")["port"][VM_TAG_PROFILE]["tag"] == 1


def test_tags_are_per_parent(c: SyncClient, net: dict[str, Any], vm: dict[str, Any]) -> None:
    vm2 = c.port(net["id"], name="vm2")
    a = c.port(net["id"], **{VM_TAG_PROFILE: {"parent_name": vm["id"], "tag": 7}})
    b = c.port(net["id"], **{VM_TAG_PROFILE: {"parent_name": vm2["id"], "tag": 7}})
    assert a[VM_TAG_PROFILE]["tag"] == b[VM_TAG_PROFILE]["tag"] == 7


def test_tag_in_use_is_409(c: SyncClient, net: dict[str, Any], vm: dict[str, Any]) -> None:
    c.port(net["id"], **{VM_TAG_PROFILE: {"parent_name": vm["id"], "tag": 100}})
    msg = conflict(child(c, net, {"parent_name": vm["id"], "tag": 100}), "TagInUse")
    assert "100" in msg and vm["id"] in msg
    # and by update: another child cannot move onto the tag either
    other = c.port(net["id"], **{VM_TAG_PROFILE: {"parent_name": vm["id"], "tag": 101}})
    out = c.request(
        "PUT",
        f"/v2.0/ports/{other['id']}",
        {"port": {VM_TAG_PROFILE: {"parent_name": vm["id"], "tag": 100}}},
    )
    conflict(out, "TagInUse")
    assert c.ok("GET", f"/v2.0/ports/{other['id']}")["port"][VM_TAG_PROFILE]["tag"] == 101


def test_child_on_another_network_than_its_parent(c: SyncClient, vm: dict[str, Any]) -> None:
    other = c.network("other")
    c.subnet(other["id"], "10.9.0.0/24")
    port = c.port(other["id"], **{VM_TAG_PROFILE: {"parent_name": vm["id"], "tag": 9}})
    assert port["network_id"] == other["id"] and port[VM_TAG_PROFILE]["tag"] == 9


def test_tag_without_parent_name_is_400(c: SyncClient, net: dict[str, Any]) -> None:
    bad_request(child(c, net, {"tag": 5}), "binding:profile", "tag", "parent_name")
    bad_request(child(c, net, {"tag": "auto"}), "binding:profile", "parent_name")
    bad_request(child(c, net, {"tag": None}), "binding:profile", "parent_name")


@pytest.mark.parametrize("tag", [0, 4096, -1, "x", "5", True, False, 5.0, [5], {"t": 5}])
def test_bad_tag_is_400(c: SyncClient, net: dict[str, Any], vm: dict[str, Any], tag: Any) -> None:
    bad_request(child(c, net, {"parent_name": vm["id"], "tag": tag}), "binding:profile", "tag")


@pytest.mark.parametrize("tag", [1, 4095])
def test_tag_range_ends_are_accepted(
    c: SyncClient, net: dict[str, Any], vm: dict[str, Any], tag: int
) -> None:
    status, body = child(c, net, {"parent_name": vm["id"], "tag": tag})
    assert status == 201, body
    assert body["port"][VM_TAG_PROFILE]["tag"] == tag


@pytest.mark.parametrize("parent", ["", 3, None, ["x"]])
def test_bad_parent_name_is_400(c: SyncClient, net: dict[str, Any], parent: Any) -> None:
    out = child(c, net, {"parent_name": parent, "tag": 5})
    bad_request(out, "binding:profile")


@pytest.mark.parametrize("profile", ["a string", ["parent_name"], 7])
def test_profile_must_be_a_dictionary(c: SyncClient, net: dict[str, Any], profile: Any) -> None:
    bad_request(child(c, net, profile), "binding:profile")


def test_parent_must_exist(c: SyncClient, net: dict[str, Any]) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    msg = bad_request(child(c, net, {"parent_name": missing, "tag": 5}), "binding:profile")
    assert missing in msg


def test_parent_must_not_be_a_child(c: SyncClient, net: dict[str, Any], vm: dict[str, Any]) -> None:
    inner = c.port(net["id"], **{VM_TAG_PROFILE: {"parent_name": vm["id"], "tag": 5}})
    msg = bad_request(child(c, net, {"parent_name": inner["id"], "tag": 6}), "binding:profile")
    assert "nested" in msg
    # nor may a parent become a child (its containers would be nested)
    vm2 = c.port(net["id"], name="vm2")
    out = c.request(
        "PUT", f"/v2.0/ports/{vm['id']}", {"port": {VM_TAG_PROFILE: {"parent_name": vm2["id"]}}}
    )
    assert "nested" in bad_request(out, "binding:profile")
    # nor its own parent
    out = c.request(
        "PUT", f"/v2.0/ports/{vm2['id']}", {"port": {VM_TAG_PROFILE: {"parent_name": vm2["id"]}}}
    )
    bad_request(out, "binding:profile")


def test_parent_with_children_cannot_be_deleted(
    c: SyncClient, net: dict[str, Any], vm: dict[str, Any]
) -> None:
    inner = c.port(net["id"], **{VM_TAG_PROFILE: {"parent_name": vm["id"]}})
    conflict(c.request("DELETE", f"/v2.0/ports/{vm['id']}"), "PortInUse")
    c.ok("DELETE", f"/v2.0/ports/{inner['id']}", status=204)
    c.ok("DELETE", f"/v2.0/ports/{vm['id']}", status=204)


def test_update_moves_a_child_and_keeps_its_tag_on_auto(
    c: SyncClient, net: dict[str, Any], vm: dict[str, Any]
) -> None:
    port = c.port(net["id"], **{VM_TAG_PROFILE: {"parent_name": vm["id"], "tag": 12}})
    path = f"/v2.0/ports/{port['id']}"
    same = c.ok("PUT", path, {"port": {VM_TAG_PROFILE: {"parent_name": vm["id"]}}})["port"]
    assert same[VM_TAG_PROFILE]["tag"] == 12
    vm2 = c.port(net["id"], name="vm2")
    moved = c.ok("PUT", path, {"port": {VM_TAG_PROFILE: {"parent_name": vm2["id"]}}})["port"]
    assert moved[VM_TAG_PROFILE] == {"parent_name": vm2["id"], "tag": 1}
    plain = c.ok("PUT", path, {"port": {VM_TAG_PROFILE: {}}})["port"]
    assert plain[VM_TAG_PROFILE] == {}
    assert plain["revision_number"] == port["revision_number"] + 3


def test_child_rows_in_nb(
    api: ThreadedApi, c: SyncClient, net: dict[str, Any], vm: dict[str, Any]
) -> None:
    port = c.port(net["id"], name="c1", **{VM_TAG_PROFILE: {"parent_name": vm["id"], "tag": 42}})
    row = api.lsp(port["id"])
    assert row is not None
    assert row.one("parent_name") == vm["id"]
    assert row.one("tag_request") == 42
    assert row["external_ids"]["neutron:port_name"] == "c1"
    assert row["external_ids"]["neutron:revision_number"] == "1"
    ip = port["fixed_ips"][0]["ip_address"]
    assert list(row["addresses"]) == [f"{port['mac_address']} {ip}"]
    assert list(row["port_security"]) == [f"{port['mac_address']} {ip}"]


# ---------------------------------------------------------------------- other validation


@pytest.mark.parametrize(
    ("collection", "body", "field"),
    [
        ("networks", {"name": 5}, "name"),
        ("networks", {"mtu": 10}, "mtu"),
        ("networks", {"mtu": "1500"}, "mtu"),
        ("networks", {"admin_state_up": "maybe"}, "admin_state_up"),
        ("networks", {"shared": 1}, "shared"),
        ("networks", {"name": "x" * 256}, "name"),
        ("networks", {"tenant_id": {}}, "tenant_id"),
        ("networks", {"project_id": "p", "tenant_id": 5}, "tenant_id"),
        ("networks", {"project_id": ["p"]}, "project_id"),
        ("networks", {"tags": [{}]}, "tags"),
        ("ports", {"network_id": "NET", "tags": "x"}, "tags"),
        ("subnets", {"cidr": "10.1.0.0/24"}, "network_id"),
        ("subnets", {"network_id": "NET"}, "cidr"),
        ("subnets", {"network_id": "NET", "cidr": "banana"}, "cidr"),
        ("subnets", {"network_id": "NET", "cidr": "10.1.0.0/31"}, "cidr"),
        ("subnets", {"network_id": "NET", "cidr": "10.1.0.0/24", "ip_version": 6}, "ip_version"),
        ("subnets", {"network_id": "NET", "cidr": "10.1.0.0/24", "ip_version": 5}, "ip_version"),
        ("subnets", {"network_id": "NET", "cidr": "10.1.0.0/24", "gateway_ip": "x"}, "gateway_ip"),
        (
            "subnets",
            {"network_id": "NET", "cidr": "10.1.0.0/24", "gateway_ip": "10.2.0.1"},
            "gateway_ip",
        ),
        (
            "subnets",
            {"network_id": "NET", "cidr": "10.1.0.0/24", "dns_nameservers": ["nope"]},
            "dns_nameservers",
        ),
        (
            "subnets",
            {"network_id": "NET", "cidr": "10.1.0.0/24", "dns_nameservers": "8.8.8.8"},
            "dns_nameservers",
        ),
        (
            "subnets",
            {
                "network_id": "NET",
                "cidr": "10.1.0.0/24",
                "allocation_pools": [{"start": "10.1.0.9", "end": "10.1.0.2"}],
            },
            "allocation_pools",
        ),
        (
            "subnets",
            {
                "network_id": "NET",
                "cidr": "10.1.0.0/24",
                "allocation_pools": [{"start": "10.1.0.1", "end": "10.1.0.20"}],
            },
            "gateway_ip",
        ),
        ("subnets", {"network_id": "NET", "cidr": "10.0.0.128/25"}, "cidr"),  # overlaps
        ("ports", {}, "network_id"),
        ("ports", {"network_id": "NET", "mac_address": "zz:zz"}, "mac_address"),
        ("ports", {"network_id": "NET", "mac_address": "01:00:5e:00:00:01"}, "mac_address"),
        ("ports", {"network_id": "NET", "fixed_ips": [{"ip_address": "x"}]}, "fixed_ips"),
        ("ports", {"network_id": "NET", "fixed_ips": [{"ip_address": "10.8.0.1"}]}, "fixed_ips"),
        ("ports", {"network_id": "NET", "fixed_ips": [{"subnet_id": "nope"}]}, "fixed_ips"),
        ("ports", {"network_id": "NET", "fixed_ips": [{"other": 1}]}, "fixed_ips"),
        ("ports", {"network_id": "NET", "fixed_ips": {"ip_address": "10.0.0.9"}}, "fixed_ips"),
        ("ports", {"network_id": "NET", "admin_state_up": 3}, "admin_state_up"),
        ("ports", {"network_id": "NET", "security_groups": "sg"}, "security_groups"),
        ("ports", {"network_id": "NET", "device_id": 1}, "device_id"),
    ],
)
def test_invalid_input_is_400_naming_the_field(
    c: SyncClient, net: dict[str, Any], collection: str, body: dict[str, Any], field: str
) -> None:
    body = {k: (net["id"] if v == "NET" else v) for k, v in body.items()}
    one = collection[:-1]
    bad_request(c.request("POST", f"/v2.0/{collection}", {one: body}), field)


@pytest.mark.parametrize(
    ("collection", "body", "field"),
    [
        ("networks", {"mtu": 1}, "mtu"),
        ("subnets", {"gateway_ip": "nope"}, "gateway_ip"),
        ("subnets", {"gateway_ip": "10.5.0.1"}, "gateway_ip"),
        ("subnets", {"gateway_ip": "10.0.0.7"}, "gateway_ip"),  # inside the allocation pool
        ("subnets", {"dns_nameservers": ["nope"]}, "dns_nameservers"),
        ("ports", {"mac_address": "nope"}, "mac_address"),
        ("ports", {"name": ["x"]}, "name"),
        ("ports", {"fixed_ips": [{"ip_address": "bad"}]}, "fixed_ips"),
    ],
)
def test_invalid_update_is_400_naming_the_field(
    c: SyncClient, net: dict[str, Any], collection: str, body: dict[str, Any], field: str
) -> None:
    if collection == "networks":
        ident = net["id"]
    elif collection == "subnets":
        ident = c.ok("GET", f"/v2.0/subnets?network_id={net['id']}")["subnets"][0]["id"]
    else:
        ident = c.port(net["id"])["id"]
    before = c.ok("GET", f"/v2.0/{collection}/{ident}")
    one = collection[:-1]
    bad_request(c.request("PUT", f"/v2.0/{collection}/{ident}", {one: body}), field)
    assert c.ok("GET", f"/v2.0/{collection}/{ident}") == before  # nothing changed


@pytest.mark.parametrize("collection", ["networks", "subnets", "ports"])
def test_unknown_attribute_is_400(c: SyncClient, net: dict[str, Any], collection: str) -> None:
    one = collection[:-1]
    body: dict[str, Any] = {"network_id": net["id"], "cidr": "10.7.0.0/24", "colour": "blue"}
    if collection == "networks":
        body = {"colour": "blue"}
    bad_request(c.request("POST", f"/v2.0/{collection}", {one: body}), "colour")


def test_read_only_attributes_cannot_be_updated(c: SyncClient, net: dict[str, Any]) -> None:
    port = c.port(net["id"])
    out = c.request("PUT", f"/v2.0/ports/{port['id']}", {"port": {"network_id": net["id"]}})
    bad_request(out, "network_id")
    out = c.request("PUT", f"/v2.0/ports/{port['id']}", {"port": {"status": "ACTIVE"}})
    bad_request(out, "status")


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"",
        b"[]",
        b"null",
        b'"port"',
        b'{"network": {}}',
        b'{"port": []}',
        b'{"port": {}, "extra": 1}',
        b'{"ports": [1, 2]}',
        b'{"ports": []}',
        b"\xff\xfe",
        b"[" * 100_000,
    ],
)
def test_malformed_body_is_400(c: SyncClient, raw: bytes) -> None:
    status, body = c.request("POST", "/v2.0/ports", raw=raw)
    assert status == 400, (status, body)
    assert body["NeutronError"]["message"].startswith("Malformed request body")


# ---------------------------------------------------------------------- 404 and 409


@pytest.mark.parametrize("collection", ["networks", "subnets", "ports"])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_missing_resource_is_404(c: SyncClient, collection: str, method: str) -> None:
    one = collection[:-1]
    ident = "6b2f6a6e-0000-4000-8000-000000000000"
    body = {one: {"name": "x"}} if method == "PUT" else None
    status, out = c.request(method, f"/v2.0/{collection}/{ident}", body)
    assert status == 404, out
    assert out["NeutronError"]["type"] == f"{one.capitalize()}NotFound"
    assert ident in out["NeutronError"]["message"]


def test_unknown_path_and_network_are_404(c: SyncClient) -> None:
    status, out = c.request("GET", "/v2.0/routers")
    assert status == 404 and "NeutronError" in out
    out2 = c.request("POST", "/v2.0/ports", {"port": {"network_id": "nope"}})
    assert out2[0] == 404 and out2[1]["NeutronError"]["type"] == "NetworkNotFound"
    out3 = c.request(
        "POST", "/v2.0/subnets", {"subnet": {"network_id": "no", "cidr": "10.3.0.0/24"}}
    )
    assert out3[0] == 404 and out3[1]["NeutronError"]["type"] == "NetworkNotFound"


def test_wrong_method_is_405(c: SyncClient) -> None:
    status, out = c.request("PATCH", "/v2.0/ports")
    assert status == 405 and "NeutronError" in out


def test_network_in_use_and_subnet_in_use(c: SyncClient, api: ThreadedApi) -> None:
    net = c.network("busy")
    sub = c.subnet(net["id"], "10.20.0.0/24")
    port = c.port(net["id"])
    conflict(c.request("DELETE", f"/v2.0/networks/{net['id']}"), "NetworkInUse")
    conflict(c.request("DELETE", f"/v2.0/subnets/{sub['id']}"), "SubnetInUse")
    c.ok("DELETE", f"/v2.0/ports/{port['id']}", status=204)
    assert api.lsp(port["id"]) is None
    c.ok("DELETE", f"/v2.0/subnets/{sub['id']}", status=204)
    c.ok("DELETE", f"/v2.0/networks/{net['id']}", status=204)
    names = {r["name"] for r in api.nb_rows("Logical_Switch")}
    assert f"neutron-{net['id']}" not in names


def test_deleting_a_network_deletes_its_subnets_dhcp_options(
    c: SyncClient, api: ThreadedApi
) -> None:
    net = c.network("dhcp")
    sub = c.subnet(net["id"], "10.21.0.0/24")
    ids = {r["external_ids"].get("subnet_id") for r in api.nb_rows("DHCP_Options")}
    assert sub["id"] in ids
    c.ok("DELETE", f"/v2.0/networks/{net['id']}", status=204)
    ids = {r["external_ids"].get("subnet_id") for r in api.nb_rows("DHCP_Options")}
    assert sub["id"] not in ids
    assert c.request("GET", f"/v2.0/subnets/{sub['id']}")[0] == 404


def test_ip_address_already_allocated(c: SyncClient, net: dict[str, Any]) -> None:
    port = c.port(net["id"])
    ip = port["fixed_ips"][0]["ip_address"]
    body = {"port": {"network_id": net["id"], "fixed_ips": [{"ip_address": ip}]}}
    assert ip in conflict(c.request("POST", "/v2.0/ports", body), "IpAddressAlreadyAllocated")
    other = c.port(net["id"])
    out = c.request(
        "PUT", f"/v2.0/ports/{other['id']}", {"port": {"fixed_ips": [{"ip_address": ip}]}}
    )
    conflict(out, "IpAddressAlreadyAllocated")
    assert c.ok("GET", f"/v2.0/ports/{other['id']}")["port"]["fixed_ips"] == other["fixed_ips"]
    gateway = {"port": {"network_id": net["id"], "fixed_ips": [{"ip_address": "10.0.0.1"}]}}
    conflict(c.request("POST", "/v2.0/ports", gateway), "IpAddressAlreadyAllocated")


def test_requested_address_is_used(c: SyncClient, net: dict[str, Any]) -> None:
    port = c.port(net["id"], fixed_ips=[{"ip_address": "10.0.0.200"}])
    assert port["fixed_ips"][0]["ip_address"] == "10.0.0.200"


def test_mac_address_in_use(c: SyncClient, net: dict[str, Any]) -> None:
    port = c.port(net["id"], mac_address="fa:16:3e:aa:bb:01")
    assert port["mac_address"] == "fa:16:3e:aa:bb:01"
    body = {"port": {"network_id": net["id"], "mac_address": "FA:16:3E:AA:BB:01"}}
    conflict(c.request("POST", "/v2.0/ports", body), "MacAddressInUse")
    other = c.port(net["id"])
    out = c.request(
        "PUT", f"/v2.0/ports/{other['id']}", {"port": {"mac_address": "fa:16:3e:aa:bb:01"}}
    )
    conflict(out, "MacAddressInUse")
    assert c.ok("GET", f"/v2.0/ports/{other['id']}")["port"]["mac_address"] == other["mac_address"]
    # the same MAC on another network is fine
    net2 = c.network("n2")
    assert c.port(net2["id"], mac_address="fa:16:3e:aa:bb:01")["mac_address"].endswith("bb:01")


def test_generated_macs_keep_the_base(c: SyncClient, net: dict[str, Any]) -> None:
    macs = {c.port(net["id"])["mac_address"] for _ in range(5)}
    assert len(macs) == 5 and all(m.startswith("fa:16:3e:") for m in macs)


# ---------------------------------------------------------------------- listing


def test_filters_and_fields(c: SyncClient) -> None:
    net = c.network("filters-net")
    c.subnet(net["id"], "10.30.0.0/24")
    a = c.port(net["id"], name="alpha")
    b = c.port(net["id"], name="beta", admin_state_up=False)
    other = c.network("filters-other")
    c.port(other["id"], name="alpha")

    def ids(query: str) -> set[str]:
        return {p["id"] for p in c.ok("GET", f"/v2.0/ports?{query}")["ports"]}

    assert ids(f"network_id={net['id']}") == {a["id"], b["id"]}
    assert ids(f"network_id={net['id']}&name=alpha") == {a["id"]}
    assert len(ids("name=alpha")) == 2
    assert ids(f"network_id={net['id']}&admin_state_up=false") == {b["id"]}
    assert ids(f"network_id={net['id']}&name=alpha&name=beta") == {a["id"], b["id"]}
    ip = a["fixed_ips"][0]["ip_address"]
    assert ids(f"fixed_ips=ip_address%3D{ip}&network_id={net['id']}") == {a["id"]}
    assert ids(f"fixed_ips=ip_address={ip}&network_id={net['id']}") == {a["id"]}
    sub_id = a["fixed_ips"][0]["subnet_id"]
    assert ids(f"fixed_ips=subnet_id={sub_id}") == {a["id"], b["id"]}
    assert ids("name=nobody") == set()
    assert ids(f"id={b['id']}") == {b["id"]}

    listed = c.ok("GET", f"/v2.0/ports?network_id={net['id']}&fields=id&fields=name")["ports"]
    assert sorted(listed, key=lambda p: p["name"]) == [
        {"id": a["id"], "name": "alpha"},
        {"id": b["id"], "name": "beta"},
    ]
    one = c.ok("GET", f"/v2.0/ports/{a['id']}?fields=mac_address")["port"]
    assert one == {"mac_address": a["mac_address"]}
    nets = c.ok("GET", "/v2.0/networks?name=filters-net&fields=id&fields=subnets")["networks"]
    assert nets == [{"id": net["id"], "subnets": [a["fixed_ips"][0]["subnet_id"]]}]
    subs = c.ok("GET", f"/v2.0/subnets?network_id={other['id']}")["subnets"]
    assert subs == []


def test_bulk_create(c: SyncClient, net: dict[str, Any]) -> None:
    body = {"ports": [{"network_id": net["id"], "name": f"bulk{i}"} for i in range(5)]}
    out = c.ok("POST", "/v2.0/ports", body, status=201)["ports"]
    assert [p["name"] for p in out] == [f"bulk{i}" for i in range(5)]
    assert len({p["fixed_ips"][0]["ip_address"] for p in out}) == 5
    nets = c.ok(
        "POST", "/v2.0/networks", {"networks": [{"name": "b1"}, {"name": "b2"}]}, status=201
    )["networks"]
    assert [n["name"] for n in nets] == ["b1", "b2"]


def test_bulk_create_is_all_or_nothing(c: SyncClient, net: dict[str, Any]) -> None:
    before = c.ok("GET", f"/v2.0/ports?network_id={net['id']}")["ports"]
    body = {
        "ports": [
            {"network_id": net["id"], "name": "ok1"},
            {"network_id": net["id"], "name": "ok2"},
            {"network_id": net["id"], "mac_address": "nope"},
        ]
    }
    bad_request(c.request("POST", "/v2.0/ports", body), "mac_address")
    assert c.ok("GET", f"/v2.0/ports?network_id={net['id']}")["ports"] == before


def test_update_and_revision_numbers(api: ThreadedApi, c: SyncClient, net: dict[str, Any]) -> None:
    port = c.port(net["id"], name="before")
    assert port["revision_number"] == 1 and port["status"] == "DOWN"
    after = c.ok("PUT", f"/v2.0/ports/{port['id']}", {"port": {"name": "after"}})["port"]
    assert after["name"] == "after" and after["revision_number"] == 2
    row = api.lsp(port["id"])
    assert row["external_ids"]["neutron:port_name"] == "after"
    assert row["external_ids"]["neutron:revision_number"] == "2"
    disabled = c.ok("PUT", f"/v2.0/ports/{port['id']}", {"port": {"admin_state_up": False}})
    assert disabled["port"]["admin_state_up"] is False
    assert api.lsp(port["id"]).one("enabled") is False
    net2 = c.ok("PUT", f"/v2.0/networks/{net['id']}", {"network": {"name": "renamed"}})
    assert net2["network"]["revision_number"] == net["revision_number"] + 1
    ls = next(r for r in api.nb_rows("Logical_Switch") if r["name"] == f"neutron-{net['id']}")
    assert ls["external_ids"]["neutron:network_name"] == "renamed"


def test_port_security_disabled(api: ThreadedApi, c: SyncClient, net: dict[str, Any]) -> None:
    port = c.port(net["id"], port_security_enabled=False)
    assert port["port_security_enabled"] is False
    assert list(api.lsp(port["id"])["port_security"]) == []


def test_project_from_header(c: SyncClient, net: dict[str, Any]) -> None:
    status, out = c.request(
        "POST", "/v2.0/networks", {"network": {"name": "p"}}, headers={"X-Project-Id": "proj-a"}
    )
    assert status == 201 and out["network"]["project_id"] == "proj-a"
    assert out["network"]["tenant_id"] == "proj-a"


# ---------------------------------------------------------------------- token auth


def test_token_auth(tmp_path: Path) -> None:
    with ThreadedApi(tmp_path, auth="token", token="s3cret") as server:
        anonymous = SyncClient(server.url)
        wrong = SyncClient(server.url, token="nope")
        good = SyncClient(server.url, token="s3cret")
        for client in (anonymous, wrong):
            for method, path in (
                ("GET", "/v2.0/networks"),
                ("POST", "/v2.0/networks"),
                ("GET", "/v2.0/extensions"),
                ("DELETE", "/v2.0/ports/x"),
            ):
                status, out = client.request(method, path, {"network": {}})
                assert status == 401, (method, path, status, out)
                assert out["NeutronError"]["type"] == "HTTPUnauthorized"
        # the version document and the OpenAPI description are public, as in Neutron
        assert anonymous.request("GET", "/")[0] == 200
        assert anonymous.request("GET", "/openapi.json")[0] == 200
        net = good.network("authorised")
        assert good.ok("GET", f"/v2.0/networks/{net['id']}")["network"]["name"] == "authorised"
        assert anonymous.request("GET", f"/v2.0/networks/{net['id']}")[0] == 401
