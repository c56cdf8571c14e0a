"""ovn-nbctl commands run against an in-memory replica: their output, their working copy
and the OVSDB operations they would commit (verifies, mutates, one transaction)."""

from __future__ import annotations

import pytest

from pyovn.cli import nbctl
from pyovn.cli.ctl.context import NotYet
from pyovn.cli.ctl.values import CtlError
from pyovn.ovsdb.client.txn import NamedUuid

from .memdb import MemDb

TOOL = nbctl.TOOL
SW0 = "66d7ed90-1179-4eb5-bec8-4164a8b29d06"
P1 = "568fe8b5-8a03-4005-943a-25c8c966a4a8"
C1 = "e6b6f9e1-f5c4-4a0a-95ab-a3523e7c6435"


@pytest.fixture
def nb() -> MemDb:
    mem = MemDb("nb")
    mem.add("NB_Global")
    mem.add("Logical_Switch_Port", P1, name="p1")
    mem.add(
        "Logical_Switch_Port",
        C1,
        name="c1",
        parent_name=frozenset({"p1"}),
        tag_request=frozenset({5}),
    )
    mem.add("Logical_Switch", SW0, name="sw0", ports=frozenset({P1, C1}))
    return mem


def test_chain_on_empty_database_is_one_transaction() -> None:
    mem = MemDb("nb")
    res = mem.run(
        TOOL,
        "ls-add",
        "sw0",
        "--",
        "lsp-add",
        "sw0",
        "vm1",
        "--",
        "lsp-add",
        "sw0",
        "c1",
        "vm1",
        "0",
    )
    # NB_Global is created as ovn-nbctl's init does, guarded against a racing creator
    assert res.ops[0] == {
        "op": "wait",
        "timeout": 0,
        "table": "NB_Global",
        "where": [],
        "columns": ["_uuid"],
        "until": "==",
        "rows": [],
    }
    assert res.op_names() == [
        "wait",
        "insert",
        "wait",
        "insert",
        "wait",
        "insert",
        "wait",
        "insert",
    ]
    switch_insert = res.ops[3]
    assert switch_insert["table"] == "Logical_Switch"
    ports = switch_insert["row"]["ports"]
    assert ports[0] == "set" and len(ports[1]) == 2  # both ports folded into the insert
    assert all(p[0] == "named-uuid" for p in ports[1])
    child = res.ops[7]
    assert child["row"] == {
        "name": "c1",
        "parent_name": ["set", ["vm1"]],
        "tag_request": ["set", [0]],
    }
    assert res.ops[6]["where"] == [["name", "==", "c1"]]  # the name must still be free


def test_lsp_add_to_existing_switch_verifies_and_mutates(nb: MemDb) -> None:
    res = nb.run(TOOL, "lsp-add", "sw0", "p2")
    assert res.op_names() == ["wait", "wait", "insert", "mutate"]
    verify, absent, insert, mutate = res.ops
    assert verify["table"] == "Logical_Switch" and verify["rows"] == [{"name": "sw0"}]
    assert absent["where"] == [["name", "==", "p2"]]
    assert mutate["mutations"] == [
        ["ports", "insert", ["set", [["named-uuid", insert["uuid-name"]]]]]
    ]


def test_lsp_del_removes_reference_and_row(nb: MemDb) -> None:
    res = nb.run(TOOL, "lsp-del", "c1")
    names = res.op_names()
    assert names[-2:] == ["mutate", "delete"]
    assert res.ops[-2]["mutations"] == [["ports", "delete", ["set", [["uuid", C1]]]]]
    assert res.db.get("Logical_Switch_Port", C1) is None


def test_delete_then_add_same_name_in_one_chain(nb: MemDb) -> None:
    res = nb.run(TOOL, "lsp-del", "p1", "--", "lsp-add", "sw0", "p1", "--", "lsp-list", "sw0")
    assert "(p1)" in res.out and "(c1)" in res.out


def test_ls_del_deletes_its_ports(nb: MemDb) -> None:
    res = nb.run(TOOL, "ls-del", "sw0", "--", "ls-add", "sw0", "--", "lsp-add", "sw0", "p1")
    deletes = [op["table"] for op in res.ops if op["op"] == "delete"]
    assert deletes == ["Logical_Switch", "Logical_Switch_Port", "Logical_Switch_Port"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ls-add", "sw0"], "sw0: a switch with this name already exists"),
        (
            ["--may-exist", "--add-duplicate", "ls-add", "x"],
            "--may-exist and --add-duplicate may not be used together",
        ),
        (["ls-del", "nope"], "nope: switch name not found"),
        (
            ["ls-del", "00000000-0000-0000-0000-000000000001"],
            "00000000-0000-0000-0000-000000000001: switch UUID not found",
        ),
        (["lsp-add", "sw0", "p1"], "p1: a port with this name already exists"),
        (["lsp-add", "nosw", "x"], "nosw: switch name not found"),
        (["lsp-add", "sw0", "c2", "p1"], "lsp-add with parent must also specify a tag"),
        (["lsp-add", "sw0", "c2", "p1", "4096"], "4096: invalid tag (must be in range 0 to 4095)"),
        (["lsp-add", "sw0", "c2", "p1", "-1"], "-1: invalid tag (must be in range 0 to 4095)"),
        (["lsp-add", "sw0", "c2", "p1", "x"], "x: invalid tag (must be in range 0 to 4095)"),
        (
            ["--may-exist", "lsp-add", "sw0", "c1", "p1", "6"],
            "c1: port already exists with different tag_request 5",
        ),
        (
            ["--may-exist", "lsp-add", "sw0", "c1", "p2", "5"],
            "c1: port already exists with different parent p1",
        ),
        (["--may-exist", "lsp-add", "sw0", "c1"], "c1: port already exists but has parent p1"),
        (
            ["--may-exist", "lsp-add", "sw0", "p1", "c1", "5"],
            "p1: port already exists but has no parent",
        ),
        (["lsp-del", "nope"], "nope: port name not found"),
        (["lsp-get-up", "nope"], "nope: port name not found"),
        (["lsp-set-enabled", "p1", "foo"], 'foo: state must be "enabled" or "disabled"'),
        (
            ["lsp-set-type", "p1", "patch"],
            "Logical switch port type 'patch' is unrecognized. Not setting type.",
        ),
        (
            ["lsp-set-addresses", "p1", "10.0.0.1"],
            "10.0.0.1: Invalid address format. See ovn-nb(5). Hint: An Ethernet address must "
            "be listed before an IP address, together as a single argument.",
        ),
        (
            ["clear", "logical_switch_port", "p1", "name"],
            '"clear" operation cannot be applied to column name of table Logical_Switch_Port, '
            "which is not allowed to be empty",
        ),
        (
            ["get", "logical_switch_port", "p1", "options:nokey"],
            'no key "nokey" in Logical_Switch_Port record "p1" column options',
        ),
        (
            ["get", "logical_switch_port", "p1", "tag_request:x"],
            "cannot specify key to get for non-map column tag_request",
        ),
        (
            ["set", "logical_switch_port", "p1", "options"],
            'options: argument does not end in "=" followed by a value.',
        ),
        (
            ["set", "logical_switch_port", "p1", "options:a b=c"],
            'options:a b=c: argument does not end in "=" followed by a value.',
        ),
        (["list", "ls"], 'unknown table "ls"'),
        (["list", "logical_switch", "nope"], 'no row "nope" in table Logical_Switch'),
    ],
)
def test_errors(nb: MemDb, argv: list[str], message: str) -> None:
    with pytest.raises(CtlError) as exc:
        nb.run(TOOL, *argv)
    assert str(exc.value) == message


def test_may_exist_and_if_exists_do_nothing(nb: MemDb) -> None:
    for argv in (
        ["--may-exist", "ls-add", "sw0"],
        ["--if-exists", "ls-del", "x"],
        ["--if-exists", "lsp-del", "x"],
        ["--may-exist", "lsp-add", "sw0", "c1", "p1", "5"],
        ["--may-exist", "lsp-add", "sw0", "p1"],
    ):
        res = nb.run(TOOL, *argv)
        assert not res.db.has_writes(), argv


def test_duplicate_switch_names() -> None:
    mem = MemDb("nb")
    mem.add("NB_Global")
    mem.add("Logical_Switch", name="sw0")
    res = mem.run(TOOL, "--add-duplicate", "ls-add", "sw0")
    assert res.op_names() == ["insert"]
    mem.add("Logical_Switch", name="sw0")
    for argv in (["ls-del", "sw0"], ["lsp-add", "sw0", "p"], ["lsp-list", "sw0"], ["show", "sw0"]):
        with pytest.raises(
            CtlError, match=r"^Multiple logical switches named 'sw0'.  Use a UUID.$"
        ):
            mem.run(TOOL, *argv)


def test_getters(nb: MemDb) -> None:
    res = nb.run(
        TOOL,
        "lsp-set-addresses",
        "p1",
        "00:00:00:00:00:01 10.0.0.1",
        "dynamic",
        "--",
        "lsp-set-port-security",
        "p1",
        "00:00:00:00:00:01 10.0.0.1",
        "--",
        "lsp-set-options",
        "p1",
        "a=b",
        "c=d=e",
        "junk",
        "--",
        "lsp-set-type",
        "p1",
        "localnet",
        "--",
        "lsp-set-enabled",
        "c1",
        "disabled",
        "--",
        "lsp-get-addresses",
        "p1",
        "--",
        "lsp-get-port-security",
        "p1",
        "--",
        "lsp-get-options",
        "p1",
        "--",
        "lsp-get-type",
        "p1",
        "--",
        "lsp-get-type",
        "c1",
        "--",
        "lsp-get-enabled",
        "c1",
        "--",
        "lsp-get-enabled",
        "p1",
        "--",
        "lsp-get-up",
        "p1",
        "--",
        "lsp-get-parent",
        "c1",
        "--",
        "lsp-get-parent",
        "p1",
        "--",
        "lsp-get-tag",
        "c1",
        "--",
        "lsp-get-ls",
        "c1",
    )
    assert res.out == (
        "00:00:00:00:00:01 10.0.0.1\ndynamic\n"
        "00:00:00:00:00:01 10.0.0.1\n"
        "a=b\nc=d=e\n"
        "localnet\n\n"
        "disabled\nenabled\n"
        "down\n"
        "p1\n"
        f"{SW0} (sw0)\n"
    )


def test_lists_sorted_by_name(nb: MemDb) -> None:
    res = nb.run(TOOL, "lsp-list", "sw0", "--", "ls-list")
    assert res.out == f"{C1} (c1)\n{P1} (p1)\n{SW0} (sw0)\n"


def test_duplicate_ip_on_switch() -> None:
    mem = MemDb("nb")
    mem.add("NB_Global")
    vm1 = mem.add(
        "Logical_Switch_Port",
        name="vm1",
        addresses=frozenset({"00:00:00:00:00:01 10.0.0.1 fe80::1", "unknown"}),
    )
    vm2 = mem.add("Logical_Switch_Port", name="vm2")
    mem.add("Logical_Switch", name="sw0", ports=frozenset({vm1, vm2}))
    with pytest.raises(CtlError) as exc:
        mem.run(TOOL, "lsp-set-addresses", "vm2", "00:00:00:00:00:07 10.0.0.1/24")
    assert str(exc.value) == (
        "Error on switch sw0: duplicate IPv4 address '10.0.0.1' found on logical switch port 'vm1'"
    )
    with pytest.raises(CtlError, match="duplicate IPv6 address 'fe80::1'"):
        mem.run(TOOL, "lsp-set-addresses", "vm2", "00:00:00:00:00:07 fe80::1")
    res = mem.run(TOOL, "lsp-set-addresses", "vm2", "00:00:00:00:00:07 10.0.0.7", "dynamic")
    assert res.ops[-1]["op"] == "update"
    assert res.ops[-1]["row"] == {"addresses": ["set", ["00:00:00:00:00:07 10.0.0.7", "dynamic"]]}


def test_set_map_key_is_a_safe_mutation(nb: MemDb) -> None:
    res = nb.run(
        TOOL,
        "set",
        "logical_switch_port",
        "p1",
        'external_ids:"neutron:port_name"=vm',
        "options:router-port=lrp0",
        "tag_request=7",
    )
    mutations = [op["mutations"] for op in res.ops if op["op"] == "mutate"]
    assert mutations[0] == [
        ["external_ids", "delete", ["set", ["neutron:port_name"]]],
        ["external_ids", "insert", ["map", [["neutron:port_name", "vm"]]]],
    ]
    update = next(op for op in res.ops if op["op"] == "update")
    assert update["row"] == {"tag_request": ["set", [7]]}
    got = nb.run(
        TOOL,
        "set",
        "logical_switch_port",
        "p1",
        "options:x=y",
        "--",
        "get",
        "logical_switch_port",
        "p1",
        "options",
        "options:x",
    )
    assert got.out == "{x=y}\ny\n"


def test_add_remove_clear(nb: MemDb) -> None:
    res = nb.run(
        TOOL,
        "add",
        "logical_switch",
        "sw0",
        "external_ids",
        "a=1",
        "b=2",
        "--",
        "remove",
        "logical_switch",
        "sw0",
        "external_ids",
        "a",
        "b=3",
        "--",
        "get",
        "logical_switch",
        "sw0",
        "external_ids",
        "--",
        "clear",
        "logical_switch",
        "sw0",
        "external_ids",
        "--",
        "get",
        "logical_switch",
        "sw0",
        "external_ids",
    )
    assert res.out == '{b="2"}\n{}\n'
    with pytest.raises(CtlError, match=r'^"x" is not a valid UUID$'):
        nb.run(TOOL, "add", "logical_switch", "sw0", "acls", "x")
    with pytest.raises(CtlError, match="would put 0 values in column networks"):
        lrp = nb.add("Logical_Router_Port", name="lrp0", networks=frozenset({"10.0.0.1/24"}))
        nb.add("Logical_Router", name="r0", ports=frozenset({lrp}))
        nb.run(TOOL, "remove", "logical_router_port", "lrp0", "networks", '"10.0.0.1/24"')


def test_create_with_id_and_reference(nb: MemDb) -> None:
    res = nb.run(
        TOOL,
        "--id=@p",
        "create",
        "logical_switch_port",
        "name=cp",
        "--",
        "add",
        "logical_switch",
        "sw0",
        "ports",
        "@p",
    )
    assert res.warnings == []
    assert res.out == "00000000-0000-0000-0000-000000000000\n"  # no commit in this test
    res = nb.run(TOOL, "create", "logical_switch_port", "name=cq")
    assert "without --id option will have no effect" in res.warnings[0]


def test_destroy(nb: MemDb) -> None:
    res = nb.run(TOOL, "destroy", "logical_switch_port", "p1")
    assert not res.db.has_writes()  # non-root rows go away only when unreferenced (as OVS)
    res = nb.run(TOOL, "destroy", "logical_switch", "sw0")
    assert [op["op"] for op in res.ops] == ["delete"]
    with pytest.raises(CtlError, match='no row "x"'):
        nb.run(TOOL, "destroy", "logical_switch", "x")
    assert not nb.run(TOOL, "--if-exists", "destroy", "logical_switch", "x").db.has_writes()


def test_find_operators(nb: MemDb) -> None:
    def names(*conds: str) -> str:
        return nb.run(TOOL, "--bare", "--columns=name", "find", "logical_switch_port", *conds).out

    assert names("tag_request=5") == "c1\n"
    assert names("tag_request!=5") == "p1\n"
    assert names("tag_request>1") == "c1\n"
    assert names("tag_request=[]") == "p1\n"
    assert names("parent_name{>=}p1") == "c1\n"
    assert names("name{in}[p1,x]") == "p1\n"
    assert names("name{not-in}[p1]") == "c1\n"
    assert names("options:x=y") == ""


def test_list_formats(nb: MemDb) -> None:
    res = nb.run(TOOL, "--columns=name,tag_request", "list", "logical_switch_port", "c1", "p1")
    assert res.out == (
        "name                : c1\ntag_request         : 5\n\n"
        "name                : p1\ntag_request         : []\n"
    )
    res = nb.run(
        TOOL, "-f", "table", "--columns=name,parent_name", "list", "logical_switch_port", "c1", "p1"
    )
    assert res.out == "name parent_name\n---- -----------\nc1   p1\np1   []\n"
    res = nb.run(
        TOOL, "-f", "csv", "--columns=name,tag_request", "list", "logical_switch_port", "c1"
    )
    assert res.out == "name,tag_request\nc1,5\n"
    res = nb.run(TOOL, "-f", "json", "--columns=name,ports", "list", "logical_switch", "sw0")
    assert res.out == (
        '{"data":[["sw0",["set",[["uuid","' + P1 + '"],["uuid","' + C1 + '"]]]]],'
        '"headings":["name","ports"]}\n'
    )
    res = nb.run(TOOL, "--bare", "--columns=name,ports", "list", "logical_switch", "sw0")
    assert res.out == f"sw0\n{P1} {C1}\n"


def test_new_rows_print_placeholders_until_commit() -> None:
    mem = MemDb("nb")
    res = mem.run(TOOL, "ls-add", "x", "--", "--columns=_uuid,name", "list", "logical_switch")
    assert res.out.startswith("_uuid               : 00000000-0000-0000-0000-000000000000\n")


def test_wait_until(nb: MemDb) -> None:
    nb.run(TOOL, "wait-until", "logical_switch_port", "c1", "tag_request=5")
    with pytest.raises(NotYet):
        nb.run(TOOL, "wait-until", "logical_switch_port", "c1", "tag=5")
    with pytest.raises(NotYet):
        nb.run(TOOL, "wait-until", "logical_switch", "nope")


def test_wait_bumps_nb_cfg(nb: MemDb) -> None:
    res = nb.run(TOOL, "ls-add", "x")
    index = nbctl.bump_nb_cfg(res.db)
    mutate, select = res.ops[-2:]
    assert mutate["op"] == "mutate" and mutate["mutations"] == [["nb_cfg", "+=", 1]]
    assert select["op"] == "select" and select["columns"] == ["nb_cfg"]
    assert index == len(res.ops) - 1


def test_wait_bump_on_new_nb_global() -> None:
    mem = MemDb("nb")
    res = mem.run(TOOL, "ls-add", "x")
    nbctl.bump_nb_cfg(res.db)
    insert = res.ops[1]
    assert insert["table"] == "NB_Global" and insert["row"] == {"nb_cfg": 1}
    assert res.ops[-1]["where"] == [["_uuid", "==", ["named-uuid", insert["uuid-name"]]]]


def test_nb_cfg_reached() -> None:
    mem = MemDb("nb")
    mem.add("NB_Global", nb_cfg=3, sb_cfg=3, hv_cfg=2)
    rows = lambda table: mem.tables.get(table, {})  # noqa: E731
    assert nbctl.nb_cfg_reached(rows, "sb", 3)
    assert not nbctl.nb_cfg_reached(rows, "hv", 3)
    assert not nbctl.nb_cfg_reached(rows, "sb", 4)


def test_named_rows_are_keys(nb: MemDb) -> None:
    res = nb.run(TOOL, "ls-add", "new")
    (key,) = [k for k, r in res.db.rows("Logical_Switch").items() if r["name"] == "new"]
    assert isinstance(key, NamedUuid)
