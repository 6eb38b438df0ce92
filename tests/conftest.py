"""Test-wide settings: hypothesis never judges by wall-clock time; the vector checkers'
asserts are rewritten like those of test modules, so a failing vector shows its diff."""

from __future__ import annotations

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
