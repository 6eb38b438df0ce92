"""The node as it was at an earlier commit, run beside today's in the same benchmark.

Issue 20 asks for a catch-up "at least 3x today's rate on this machine", today being
the tree it was filed against (ISSUE_20_BASE). Rates on this shared machine swing
with other work, so that rate is measured again in the same run: `checkout` writes
that commit's tree (`git archive`) into a folder, and bench.network starts two nodes
from it (the same interpreter and installed packages; the folder first on the path):
one signs the same notes, the other catches them up, as that release did. Needs git
and the commit in this clone's history; otherwise the reason is given and the row is
skipped.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The tree issue 20 was filed against: "today's rate" of its catch-up target.
ISSUE_20_BASE = "191bad041896b7f4f93ada68c84b8287641c6442"
#: What that node keeps of a log it has no reason to keep (ledger.quota then; it had
#: no --quota-log-entries): it catches up at most this many entries of A's log.
ISSUE_20_BASE_MAX_LOG_ENTRIES = 100_000


def checkout(commit: str, into: Path) -> Path | str:
    """`commit`'s tree written under `into`: its folder, or why it could not be."""
    if shutil.which("git") is None:
        return "git is not on PATH"
    known = subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", f"{commit}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    if known.returncode != 0:
        return f"commit {commit[:12]} is not in this clone's history (a shallow clone?)"
    folder = into / commit[:12]
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with tempfile.TemporaryFile() as tar_file:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", commit],
            stdout=tar_file,
            stderr=subprocess.PIPE,
            check=False,
        )
        if archive.returncode != 0:
            return f"git archive {commit[:12]} failed: {archive.stderr.decode(errors='replace')}"
        tar_file.seek(0)
        try:
            with tarfile.open(fileobj=tar_file) as tar:
                tar.extractall(folder, filter="data")
        except (tarfile.TarError, OSError) as e:
            return f"could not write {commit[:12]}'s tree: {e}"
    return folder
