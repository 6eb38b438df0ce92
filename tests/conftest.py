"""Test-wide settings: hypothesis never judges by wall-clock time; the vector checkers'
asserts are rewritten like those of test modules, so a failing vector shows its diff.
Ctrl-C works in the programs the tests start, even when the run itself was started in
the background by a shell (which ignores SIGINT there, and children inherit that).
A failed test that ran nodes prints the end of every node's log it left in its folder."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

pytest.register_assert_rewrite(
    "tests.vector_support",
    "tests.vector_checks_ledger",
    "tests.vector_checks_licences",
    "tests.vector_checks_governance",
    "tests.vector_checks_sync",
    "tests.vector_checks_fuzz",
)

settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("default")


@pytest.fixture(autouse=True)
def _ctrl_c_reaches_children() -> None:
    """The tests stop `fabnode watch` and `fabnode demo` as Ctrl-C would. An ignored
    SIGINT stays ignored across exec, a caught one does not: before each test (an
    earlier one may have put the ignored state back), catch it as Python does."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    """After a failed call, the end of each `*-node.log` under the test's tmp_path: a
    federation test fails on one node while the cause is often in another's log."""
    outcome: Any = yield
    report = outcome.get_result()
    tmp_path = getattr(item, "funcargs", {}).get("tmp_path")
    if call.when != "call" or not report.failed or not isinstance(tmp_path, Path):
        return
    for log in sorted(tmp_path.rglob("*-node.log")):
        text = log.read_text(errors="replace")[-4000:]
        report.sections.append((f"node log {log.name}", text))
