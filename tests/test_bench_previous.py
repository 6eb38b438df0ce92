"""bench.previous: the tree issue 20 was filed against, written out for the catch-up
benchmark's same-run reference (its "today's rate")."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import previous


def test_the_issue_day_tree_is_written_out_whole(tmp_path: Path) -> None:
    folder = previous.checkout(previous.ISSUE_20_BASE, tmp_path)
    if isinstance(folder, str):
        pytest.skip(folder)
    assert (folder / "node" / "cli" / "main.py").is_file()
    assert (folder / "protocol" / "entry.py").is_file()
    assert not (folder / "ledger" / "syncclaims.py").exists()  # that tree is older


def test_an_unknown_commit_gives_its_reason(tmp_path: Path) -> None:
    reason = previous.checkout("0" * 40, tmp_path)
    assert isinstance(reason, str) and "not in this clone's history" in reason
