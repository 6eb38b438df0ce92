"""node.store.memory: glibc's allocator settings and trimming (no effect on behaviour)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from node.store import memory

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC, reason="the settings exist on glibc only")
def test_glibc_takes_the_settings_and_trims() -> None:
    # In a child process: mallopt changes the whole process's allocator.
    code = (
        "from node.store import memory\n"
        "assert memory.tune_allocator()\n"
        "blocks = [bytearray(4096) for _ in range(20000)]\n"
        "del blocks[1:]\n"
        "memory.release_memory()\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_elsewhere_both_do_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    memory._glibc.cache_clear()
    try:
        assert memory.tune_allocator() is False
        assert memory.release_memory() is False
    finally:
        monkeypatch.undo()
        memory._glibc.cache_clear()
