"""The ctl command line: global options, command options, ``--`` chains, usage errors."""

from __future__ import annotations

import pytest

from pyovn.cli import nbctl, sbctl
from pyovn.cli.ctl.options import UsageError, default_db, parse_command_line

NB = nbctl.TOOL.specs
SB = sbctl.TOOL.specs


def test_globals_then_commands() -> None:
    opts, cmds = parse_command_line(
        ["--db=unix:/x.sock", "-t", "5", "--wait=sb", "ls-add", "sw0", "--", "ls-list"], NB
    )
    assert (opts.db, opts.timeout, opts.wait) == ("unix:/x.sock", 5.0, "sb")
    assert [(c.name, c.args) for c in cmds] == [("ls-add", ["sw0"]), ("ls-list", [])]


def test_separate_option_values_and_short_forms() -> None:
    opts, _ = parse_command_line(["--db", "tcp:1.2.3.4:6641", "-t10", "-f", "csv", "ls-list"], NB)
    assert (opts.db, opts.timeout, opts.format) == ("tcp:1.2.3.4:6641", 10.0, "csv")


def test_bare_and_formats() -> None:
    opts, _ = parse_command_line(["--bare", "list", "nb_global"], NB)
    assert (opts.format, opts.data, opts.headings) == ("list", "bare", False)
    opts, _ = parse_command_line(["--format=table", "--data=json", "--no-headings", "ls-list"], NB)
    assert (opts.format, opts.data, opts.headings) == ("table", "json", False)


def test_command_option_among_globals_goes_to_first_command() -> None:
    _, cmds = parse_command_line(["--if-exists", "ls-del", "a", "--", "ls-del", "b"], NB)
    assert cmds[0].has("--if-exists") and not cmds[1].has("--if-exists")
    _, cmds = parse_command_line(["--columns=name", "list", "ls"], NB)
    assert cmds[0].value("--columns") == "name"


def test_per_command_options() -> None:
    _, cmds = parse_command_line(
        [
            "--",
            "--may-exist",
            "ls-add",
            "a",
            "--",
            "--id=@p",
            "create",
            "logical_switch_port",
            "name=x",
            "--",
        ],
        NB,
    )
    assert cmds[0].options == {"--may-exist": None}
    assert cmds[1].options == {"--id": "@p"}
    assert cmds[1].args == ["logical_switch_port", "name=x"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "missing command name (use --help for help)"),
        (["--"], "missing command name (use --help for help)"),
        (["bogus"], "unknown command 'bogus'; use --help for help"),
        (["--bogus", "ls-list"], "unrecognized option '--bogus'"),
        (["--if-exists", "ls-list"], "'ls-list' command has no '--if-exists' option"),
        (["ls-add", "a", "b"], "'ls-add' command takes at most 1 arguments"),
        (["lsp-add"], "'lsp-add' command requires at least 2 arguments"),
        (["--wait=sometimes", "ls-list"], 'argument to --wait must be "none", "sb", or "hv"'),
        (["--timeout=x", "ls-list"], "value x on -t or --timeout is invalid"),
        (["--format=xml", "ls-list"], "unknown output format 'xml'"),
        (["--db"], "option '--db' requires an argument"),
    ],
)
def test_usage_errors(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError) as exc:
        parse_command_line(argv, NB)
    assert str(exc.value) == message


def test_sbctl_has_no_wait() -> None:
    with pytest.raises(UsageError, match="unrecognized option '--wait=sb'"):
        parse_command_line(["--wait=sb", "show"], SB, wait_allowed=False)
    _, cmds = parse_command_line(["--uuid", "lflow-list", "sw0"], SB, wait_allowed=False)
    assert cmds[0].has("--uuid")


def test_help_and_version_need_no_command() -> None:
    opts, cmds = parse_command_line(["--help"], NB)
    assert opts.help and cmds == []


def test_default_db(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OVN_NB_DB", raising=False)
    monkeypatch.delenv("OVN_RUNDIR", raising=False)
    assert default_db("OVN_NB_DB", "ovnnb_db.sock") == "unix:/var/run/ovn/ovnnb_db.sock"
    monkeypatch.setenv("OVN_NB_DB", "tcp:127.0.0.1:6641")
    assert default_db("OVN_NB_DB", "ovnnb_db.sock") == "tcp:127.0.0.1:6641"
