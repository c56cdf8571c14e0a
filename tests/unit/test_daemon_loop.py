"""The daemons' event loop and garbage-collector settings (pyovn.daemon)."""

from __future__ import annotations

import asyncio
import gc

import pytest

from pyovn import daemon


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_run_loop_uses_uvloop_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("uvloop")
    monkeypatch.delenv("PYOVN_EVENT_LOOP", raising=False)
    assert daemon.run_loop(_loop_module()).startswith("uvloop")


def test_run_loop_standard_loop_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYOVN_EVENT_LOOP", "asyncio")
    assert daemon.run_loop(_loop_module()).startswith("asyncio")


def test_tune_gc_raises_thresholds_and_freezes() -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        keep = [{"row": i} for i in range(1000)]
        daemon.tune_gc(freeze=True)
        assert gc.get_threshold() == daemon.GC_THRESHOLDS
        assert gc.get_freeze_count() >= len(keep)
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
