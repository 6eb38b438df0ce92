"""Test-wide settings: hypothesis never judges by wall-clock time; the vector checkers'
asserts are rewritten like those of test modules, so a failing vector shows its diff.
Ctrl-C works in the programs the tests start, even when the run itself was started in
the background by a shell (which ignores SIGINT there, and children inherit that)."""

from __future__ import annotations

import signal

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
