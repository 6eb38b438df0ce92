"""Fixtures of the integration tests that put nodes in network namespaces."""

from __future__ import annotations

import pytest

from tests import netns


@pytest.fixture(scope="module")
def caps() -> netns.Capabilities:
    """What this machine lets the namespace tests do, each gap with its reason."""
    return netns.probe()
