"""The pipeline runner on hand-built Southbound rows.

Where a test gives the full text, it is what Debian's ovn-trace 23.03 printed for the same
rows (only the uuids differ), so these double as layout tests."""

from __future__ import annotations

import pytest

from pyovn.trace import SbView, TraceError, Tracer, parse_ct_flags, trace_rows
from tests.unit.trace.fakesb import FakeSb


def hs() -> tuple[FakeSb, dict[str, str]]:
    """Datapath "hs", ports p1 and p2, flows exercising next(N), clone, arp, pipelines."""
    sb = FakeSb()
    dp = sb.datapath("hs")
    sb.port(dp, "p1", 1)
    sb.port(dp, "p2", 2)
    u = {"dp": dp}
    u["ip4"] = sb.flow(dp, "ingress", 0, 10, 'inport == "p1" && ip4', "reg0 = 5; next(2);", "st0")
    u["arp"] = sb.flow(
        dp,
        "ingress",
        0,
        10,
        'inport == "p1" && arp',
        'clone { outport = "p2"; output; }; eth.dst <-> eth.src; next;',
        "st0",
    )
    u["p2"] = sb.flow(
        dp, "ingress", 0, 10, 'inport == "p2"', "next(pipeline=egress, table=1);", "st0"
    )
    sb.flow(dp, "ingress", 1, 10, "1", "next;", "st1")
    u["to9"] = sb.flow(
        dp,
        "ingress",
        2,
        10,
        "reg0 == 5 && ip4.dst == 10.0.0.9",
        "arp { eth.dst = ff:ff:ff:ff:ff:ff; arp.op = 1; output; };",
        "st2",
    )
    u["to6"] = sb.flow(
        dp,
        "ingress",
        2,
        10,
        "reg0 == 5 && ip4.dst == 10.0.0.6",
        'reg1 = reg0; ip4.src = 1.2.3.4; ip.ttl--; outport = "p2"; output;',
        "st2",
    )
    sb.flow(dp, "ingress", 1, 5, "arp", 'outport = "p1"; output;', "st1")  # hidden by "1"
    sb.flow(dp, "egress", 0, 1, "1", "next;", "out0")
    u["out1"] = sb.flow(dp, "egress", 1, 1, 'outport == "p2" || outport == "p1"', "output;", "out1")
    return sb, {k: v[:8] for k, v in u.items()}


def test_arp_block_detailed_summary_minimal() -> None:
    sb, u = hs()
    result = trace_rows(sb.rows, "hs", 'inport == "p1" && ip4.dst == 10.0.0.9')
    assert result.render("all") == (
        "# ip,reg14=0x1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,"
        "nw_src=0.0.0.0,nw_dst=10.0.0.9,nw_proto=0,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no\n"
        "# Detailed trace.\n"
        "\n"
        'ingress(dp="hs", inport="p1")\n'
        "-----------------------------\n"
        f' 0. st0: inport == "p1" && ip4, priority 10, uuid {u["ip4"]}\n'
        "    reg0 = 5;\n"
        "    next(2);\n"
        f" 2. st2: reg0 == 5 && ip4.dst == 10.0.0.9, priority 10, uuid {u['to9']}\n"
        "    arp { eth.dst = ff:ff:ff:ff:ff:ff; arp.op = 1; output; };\n"
        "\n"
        "arp\n"
        "---\n"
        "    eth.dst = ff:ff:ff:ff:ff:ff;\n"
        "    arp.op = 1;\n"
        "    output;\n"
        "    *** output to null logical port\n"
        "# Summary trace.\n"
        'ingress(dp="hs", inport="p1") {\n'
        "    reg0 = 5;\n"
        "    arp { eth.dst = ff:ff:ff:ff:ff:ff; arp.op = 1; output; };\n"
        "    arp {\n"
        "        eth.dst = ff:ff:ff:ff:ff:ff;\n"
        "        arp.op = 1;\n"
        "        output;\n"
        "        *** output to null logical port;\n"
        "    };\n"
        "};\n"
        "# Minimal trace.\n"
        "arp {\n"
        "    eth.dst = ff:ff:ff:ff:ff:ff;\n"
        "    arp.op = 1;\n"
        "    *** output to null logical port;\n"
        "};\n"
    )
    assert result.dropped and result.delivered == []


def test_clone_indents_and_trivial_flows_are_skipped() -> None:
    sb, u = hs()
    result = trace_rows(sb.rows, "hs", 'inport == "p1" && arp')
    assert result.render("detailed").split("\n", 1)[1] == (
        "\n"
        'ingress(dp="hs", inport="p1")\n'
        "-----------------------------\n"
        f' 0. st0: inport == "p1" && arp, priority 10, uuid {u["arp"]}\n'
        '    clone { outport = "p2"; output; };\n'
        "\n"
        "    clone\n"
        "    -----\n"
        '            outport = "p2";\n'
        "            output;\n"
        "\n"
        '        egress(dp="hs", inport="p1", outport="p2")\n'
        "        ------------------------------------------\n"
        f'         1. out1: outport == "p2" || outport == "p1", priority 1, uuid {u["out1"]}\n'
        "            output;\n"
        '            /* output to "p2", type "" */\n'
        "    eth.dst <-> eth.src;\n"
        "    next;\n"
        " 2. st2: no match (implicit drop)\n"
    )
    assert result.render("minimal").split("\n", 1)[1] == (
        'clone {\n    output("p2");\n};\n'
        "eth.dst = 00:00:00:00:00:00;\neth.src = 00:00:00:00:00:00;\n"
    )
    assert result.delivered == ["p2"] and not result.dropped
    assert "no match in ingress table 2 (st2)" in result.drops


def test_next_to_the_other_pipeline_and_implicit_drop() -> None:
    sb, _ = hs()
    result = trace_rows(sb.rows, "hs", 'inport == "p2"')
    text = result.render(["summary", "detailed"])
    assert 'egress(dp="hs", outport="")\n---------------------------\n' in text
    assert " 1. out1: no match (implicit drop)\n" in text
    assert 'ingress(dp="hs", inport="p2") {\n    egress(dp="hs", outport="");\n};\n' in text
    assert text.index("# Detailed trace.") < text.index("# Summary trace.")


def test_no_flow_in_table_at_all() -> None:
    sb, _ = hs()
    result = trace_rows(sb.rows, "hs", 'inport == "p1" && ip4.dst == 10.0.0.1')
    assert " 2. st2: no match (implicit drop)\n" in result.render()
    assert result.render("summary").endswith('ingress(dp="hs", inport="p1") {\n    reg0 = 5;\n};\n')
    assert result.render("minimal").count("\n") == 1


def test_header_changes_in_minimal_output() -> None:
    sb, _ = hs()
    result = trace_rows(sb.rows, "hs", 'inport == "p1" && ip4.dst == 10.0.0.6 && ip.ttl == 64')
    assert result.render("minimal").split("\n", 1)[1] == (
        'ip4.src = 1.2.3.4;\nip.ttl--;\noutput("p2");\n'
    )
    (delivery,) = result.deliveries
    assert delivery.packet["ip.ttl"] == 63 and delivery.packet["ip4.src"] == 0x01020304


def egress_checks() -> tuple[FakeSb, str]:
    sb = FakeSb()
    dp = sb.datapath("hs")
    sb.port(dp, "p1", 1)
    sb.port(dp, "p2", 2)
    sb.flow(
        dp,
        "ingress",
        0,
        10,
        'inport == "p1"',
        'reg0 = 5; reg9 = 7; flags.loopback = 1; pkt.mark = 3; outport = "p2"; output;',
    )
    sb.flow(dp, "egress", 0, 1, "reg0 == 5", "drop;")
    sb.flow(dp, "egress", 0, 1, "reg0 == 0 && reg9 == 0 && flags.loopback == 0", "next;")
    sb.flow(dp, "egress", 1, 1, "pkt.mark == 3", "output;")
    return sb, dp


def test_registers_and_flags_are_cleared_for_egress_but_not_pkt_mark() -> None:
    sb, _ = egress_checks()
    result = trace_rows(sb.rows, "hs", 'inport == "p1"')
    assert result.delivered == ["p2"]
    assert result.render("minimal").split("\n", 1)[1] == 'pkt.mark = 3;\noutput("p2");\n'


def test_ct_next_default_and_given_states() -> None:
    sb = FakeSb()
    dp = sb.datapath("hs")
    sb.port(dp, "p1", 1)
    sb.flow(dp, "ingress", 0, 10, "ip4", "ct_next;")
    sb.flow(dp, "ingress", 0, 20, "arp", "ct_next;")  # needs ip: can never match
    sb.flow(dp, "ingress", 1, 10, "ct.est", 'outport = "p1"; flags.loopback = 1; output;')
    sb.flow(dp, "ingress", 1, 10, "ct.new", "drop;")
    sb.flow(dp, "egress", 0, 10, "1", "output;")
    micro = 'inport == "p1" && ip4'
    result = trace_rows(sb.rows, "hs", micro)
    assert "ct_next(ct_state=est|trk /* default (use --ct to customize) */)\n" in result.render()
    assert result.delivered == ["p1"]
    result = trace_rows(sb.rows, "hs", micro, ct=[parse_ct_flags("new")])
    assert "ct_next(ct_state=new|trk)\n" in result.render() and result.dropped
    assert "no match" in trace_rows(sb.rows, "hs", 'inport == "p1" && arp').render()


def test_ties_are_reported_and_resolved_by_specificity() -> None:
    sb = FakeSb()
    dp = sb.datapath("hs")
    sb.port(dp, "p1", 1)
    sb.port(dp, "p2", 2)
    sb.flow(dp, "ingress", 0, 10, "ip4", "drop;")
    specific = sb.flow(dp, "ingress", 0, 10, "ip4 && tcp", 'outport = "p2"; output;')
    sb.flow(dp, "egress", 0, 10, "1", "output;")
    result = trace_rows(sb.rows, "hs", 'inport == "p1" && ip4 && tcp')
    text = result.render()
    assert f"uuid {specific[:8]}\n    /* 2 flows match at priority 10" in text
    assert result.delivered == ["p2"]
    assert "/* 2 flows" not in result.render("summary")


def test_flows_that_do_not_compile_are_ignored_with_a_warning() -> None:
    sb = FakeSb()
    dp = sb.datapath("hs")
    sb.port(dp, "p1", 1)
    sb.flow(dp, "ingress", 0, 50, "no.such.field == 1", "drop;")
    sb.flow(dp, "ingress", 0, 40, "1", "frobnicate;")
    sb.flow(dp, "ingress", 0, 10, "1", 'outport = "p1"; flags.loopback = 1; output;')
    sb.flow(dp, "egress", 0, 10, "1", "output;")
    result = trace_rows(sb.rows, "hs", 'inport == "p1"')
    assert result.delivered == ["p1"]
    assert len(result.warnings) == 2 and all("ignored" in w for w in result.warnings)


def test_unsupported_actions_are_reported_and_skipped() -> None:
    sb = FakeSb()
    dp = sb.datapath("hs")
    sb.port(dp, "p1", 1)
    sb.flow(dp, "ingress", 0, 10, "ip4", 'get_arp(outport, ip4.dst); outport = "p1"; output;')
    result = trace_rows(sb.rows, "hs", 'inport == "p1" && ip4')
    assert "    *** get_arp: not simulated by pyovn trace (skipped)\n" in result.render()
    assert "*** get_arp" in result.render("minimal")


def test_loops_are_cut() -> None:
    sb = FakeSb()
    dp = sb.datapath("hs")
    sb.port(dp, "p1", 1)
    sb.flow(dp, "ingress", 0, 10, "1", "reg0 = 1; next(0);")
    result = trace_rows(sb.rows, "hs", 'inport == "p1"')
    assert result.dropped and "trace stopped" in result.drops[-1]


def test_flows_of_a_datapath_group_apply_to_each_member() -> None:
    sb = FakeSb()
    a, b = sb.datapath("a", 1), sb.datapath("b", 2)
    sb.port(a, "pa", 1)
    sb.port(b, "pb", 1)
    group = sb.dp_group(a, b)
    sb.flow(None, "ingress", 0, 10, "1", "outport = inport; flags.loopback = 1; output;",
            dp_group=group)  # fmt: skip
    sb.flow(None, "egress", 0, 10, "1", "output;", dp_group=group)
    assert trace_rows(sb.rows, "a", 'inport == "pa"').delivered == ["pa"]
    assert trace_rows(sb.rows, "b", 'inport == "pb"').delivered == ["pb"]


def test_patch_ports_lead_into_the_peer_datapath() -> None:
    sb = FakeSb()
    sw, lr = sb.datapath("sw", 1), sb.datapath("lr", 2)
    sb.port(sw, "vm", 1)
    sb.port(sw, "sw-lr", 2, type="patch", options={"peer": "lr-sw"})
    sb.port(lr, "lr-sw", 1, type="patch", options={"peer": "sw-lr"})
    sb.port(lr, "lr-out", 2, type="localnet")
    sb.flow(sw, "ingress", 0, 10, 'inport == "vm"', 'reg0 = 1; outport = "sw-lr"; output;')
    sb.flow(sw, "egress", 0, 10, "1", "output;")
    sb.flow(lr, "ingress", 0, 10, 'inport == "lr-sw" && reg0 == 0', 'outport = "lr-out"; output;')
    sb.flow(lr, "egress", 0, 10, "1", "output;")
    result = trace_rows(sb.rows, "sw", 'inport == "vm"')
    text = result.render()
    assert '/* output to "sw-lr", type "patch" */\n\ningress(dp="lr", inport="lr-sw")' in text
    assert result.delivered == ["lr-out"]
    assert 'output("sw-lr")' not in result.render("minimal")


# ---------------------------------------------------------------------------- start-up


def test_datapath_by_name_uuid_nb_uuid_prefix_or_from_the_inport() -> None:
    sb = FakeSb()
    dp = sb.datapath("sw0", nb_uuid="9b5e0c4a-0000-4000-8000-000000000001")
    sb.port(dp, "vm1", 1)
    sb.flow(dp, "ingress", 0, 0, "1", "drop;")
    for name in ("sw0", dp, dp[:8], "9b5e0c4a-0000-4000-8000-000000000001", "9b5e0c4a", None):
        assert trace_rows(sb.rows, name, 'inport == "vm1"').datapath == "sw0"


@pytest.mark.parametrize(
    ("datapath", "microflow", "message"),
    [
        ("nosuch", 'inport == "vm1"', 'unknown datapath "nosuch"'),
        ("sw0", 'inport == "zz"', 'unknown logical port "zz"'),
        ("sw0", 'inport == "other"', 'logical port "other" is on "sw1", not on "sw0"'),
        ("sw0", "eth.src == 00:00:00:00:00:01", "must name the ingress port"),
        ("sw0", 'inport == "vm1" && ip4 && ip6', "contradictory"),
        ("sw0", 'inport == "vm1" && tcp.dst == 80', "ambiguous"),
        ("sw0", 'inport == "vm1" &&', "error parsing microflow"),
    ],
)
def test_start_up_errors(datapath: str, microflow: str, message: str) -> None:
    sb = FakeSb()
    dp = sb.datapath("sw0", 1)
    sb.port(dp, "vm1", 1)
    sb.port(sb.datapath("sw1", 2), "other", 1)
    with pytest.raises(TraceError, match=message):
        trace_rows(sb.rows, datapath, microflow)


def test_a_tracer_can_be_reused() -> None:
    sb, _ = hs()
    tracer = Tracer(SbView(sb.rows))
    first = tracer.trace("hs", 'inport == "p1" && arp')
    second = tracer.trace("hs", 'inport == "p1" && arp')
    assert first.render("all") == second.render("all")
    assert first.deliveries is not second.deliveries
