"""Table/column abbreviations and record names, as ovn-nbctl and ovn-sbctl resolve them."""

from __future__ import annotations

import pytest

from pyovn.cli.ctl.names import NB_ROW_IDS, SB_ROW_IDS, find_column, find_record, find_table
from pyovn.cli.ctl.values import CtlError
from pyovn.cli.ctl.workdb import WorkDb
from pyovn.ovsdb.client.txn import Txn

from .memdb import MemDb

SW0 = "66d7ed90-1179-4eb5-bec8-4164a8b29d06"
SW1 = "1491d8b7-17db-4015-81c6-c3c381d0591b"
P1 = "568fe8b5-8a03-4005-943a-25c8c966a4a8"
DHCP = "925eab20-0f1d-4dfa-b9e8-5724c8d5f6c1"


@pytest.fixture
def nb() -> MemDb:
    mem = MemDb("nb")
    mem.add("NB_Global")
    mem.add("DHCP_Options", DHCP, cidr="10.0.0.0/24")
    mem.add("Logical_Switch_Port", P1, name="p1", dhcpv4_options=frozenset({DHCP}))
    mem.add(
        "Logical_Switch",
        SW0,
        name="sw0",
        ports=frozenset({P1}),
        external_ids={"neutron:network_name": "net0"},
    )
    mem.add("Logical_Switch", SW1, name="1491")
    return mem


def work(mem: MemDb) -> WorkDb:
    return WorkDb(mem.schema, lambda t: mem.tables.get(t, {}), Txn(mem.schema))


@pytest.mark.parametrize(
    ("name", "table"),
    [
        ("Logical_Switch", "Logical_Switch"),
        ("logical_switch", "Logical_Switch"),
        ("logical-switch-port", "Logical_Switch_Port"),
        ("LOGICAL_SWITCH_P", "Logical_Switch_Port"),
        ("nb_g", "NB_Global"),
        ("dhcp", "DHCP_Options"),
    ],
)
def test_find_table(nb: MemDb, name: str, table: str) -> None:
    assert find_table(nb.schema, name).name == table


def test_find_table_errors(nb: MemDb) -> None:
    with pytest.raises(CtlError, match=r'^unknown table "ls"$'):
        find_table(nb.schema, "ls")
    with pytest.raises(CtlError, match=r'^multiple table names match "logical_r"$'):
        find_table(nb.schema, "logical_r")


def test_find_column(nb: MemDb) -> None:
    lsp = nb.schema.tables["Logical_Switch_Port"]
    assert find_column(lsp, "addr").name == "addresses"
    assert find_column(lsp, "Addresses").name == "addresses"
    assert find_column(lsp, "tag-request").name == "tag_request"
    assert find_column(lsp, "tag").name == "tag"  # exact beats prefix of tag_request
    assert find_column(lsp, "_uuid", allow_builtin=True).name == "_uuid"
    with pytest.raises(CtlError) as exc:
        find_column(lsp, "ta")
    assert str(exc.value) == (
        'Logical_Switch_Port contains more than one column whose name matches "ta": '
        "tag, tag_request"
    )
    with pytest.raises(CtlError, match='does not contain a column whose name matches "_uuid"'):
        find_column(lsp, "_uuid")


@pytest.mark.parametrize(
    ("table", "record", "expected"),
    [
        ("Logical_Switch", SW0, SW0),
        ("Logical_Switch", SW0.upper(), SW0),
        ("Logical_Switch", "sw0", SW0),
        ("Logical_Switch", "net0", SW0),  # external_ids:neutron:network_name
        ("Logical_Switch", "66d7", SW0),  # 4+ hex digits of the UUID
        ("Logical_Switch", "1491", SW1),  # a name wins over a UUID prefix
        ("Logical_Switch", "1491d8b7", SW1),
        ("Logical_Switch_Port", "p1", P1),
        ("DHCP_Options", "p1", DHCP),  # through Logical_Switch_Port.dhcpv4_options
        ("DHCP_Options", "925e", DHCP),
    ],
)
def test_find_record(nb: MemDb, table: str, record: str, expected: str) -> None:
    assert find_record(work(nb), NB_ROW_IDS, table, record) == expected


def test_singleton_dot(nb: MemDb) -> None:
    db = work(nb)
    assert find_record(db, NB_ROW_IDS, "NB_Global", ".") == next(iter(nb.tables["NB_Global"]))
    with pytest.raises(CtlError, match=r'^no row "." in table Logical_Switch$'):
        find_record(db, NB_ROW_IDS, "Logical_Switch", ".")


@pytest.mark.parametrize("record", ["66", "149", "1491D8B7", "0x1491d8b7", "nope"])
def test_missing_records(nb: MemDb, record: str) -> None:
    db = work(nb)
    assert find_record(db, NB_ROW_IDS, "Logical_Switch", record, must_exist=False) is None
    with pytest.raises(CtlError, match=f'^no row "{record}" in table Logical_Switch$'):
        find_record(db, NB_ROW_IDS, "Logical_Switch", record)


def test_ambiguous_names(nb: MemDb) -> None:
    nb.add("Logical_Switch", name="sw0")
    with pytest.raises(CtlError, match=r'^multiple rows in Logical_Switch match "sw0"$'):
        find_record(work(nb), NB_ROW_IDS, "Logical_Switch", "sw0")


def test_ambiguous_uuid_prefix() -> None:
    mem = MemDb("nb")
    mem.add("Logical_Switch", "abcd0000-0000-4000-8000-000000000001")
    mem.add("Logical_Switch", "abcd0000-0000-4000-8000-000000000002")
    db = work(mem)
    with pytest.raises(CtlError, match=r'^multiple rows in Logical_Switch match "abcd"$'):
        find_record(db, NB_ROW_IDS, "Logical_Switch", "abcd")
    key = find_record(db, NB_ROW_IDS, "Logical_Switch", "abcd0000-0000-4000-8000-000000000002")
    assert key == "abcd0000-0000-4000-8000-000000000002"


def test_sb_datapath_names() -> None:
    mem = MemDb("sb")
    ls = "1491d8b7-17db-4015-81c6-c3c381d0591b"
    dp = mem.add(
        "Datapath_Binding",
        tunnel_key=1,
        external_ids={"name": "sw1", "name2": "net1", "logical-switch": ls},
    )
    mem.add("Port_Binding", logical_port="p1", datapath=dp, tunnel_key=1)
    db = WorkDb(mem.schema, lambda t: mem.tables.get(t, {}), Txn(mem.schema))
    for name in ("sw1", "net1", ls, str(dp)):
        assert find_record(db, SB_ROW_IDS, "Datapath_Binding", name) == dp
    assert find_record(db, SB_ROW_IDS, "Port_Binding", "p1") is not None
