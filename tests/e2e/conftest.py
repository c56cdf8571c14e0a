"""End-to-end tests on real Open vSwitch: root only. They skip, saying why, when not root or
when ovs-vswitchd cannot start a userspace bridge in a network namespace here."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

from tests.e2e.labkit import Lab, ovs_unavailable

_REASON: list[str | None] = []


def _unavailable() -> str | None:
    if not _REASON:
        _REASON.append(ovs_unavailable())
        if _REASON[0]:
            print(f"\ne2e tests skipped: {_REASON[0]}", file=sys.__stderr__)
    return _REASON[0]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


def make_lab(tag: str, net: str, chassis: int) -> Iterator[Lab]:
    reason = _unavailable()
    if reason:
        pytest.skip(f"e2e: {reason}")
    impl = os.environ.get("E2E_IMPL", "pyovn")  # "ovn": the same tests on the real OVN chain
    lab = Lab(f"e{os.getpid() % 1000}{tag}", net, chassis=chassis, impl=impl)
    try:
        lab.up()
        yield lab
    finally:
        lab.down()
