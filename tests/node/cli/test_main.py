"""The command table (node.cli.main): every command a module registers is listed under
that module, every listed command is registered by its module, and `--help` loads no
command module at all."""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from node.cli.main import COMMANDS, command_of
from tests.cli_helpers import fabnode


def registered_by(module: str) -> set[str]:
    sub = argparse.ArgumentParser().add_subparsers()
    importlib.import_module(module).add_commands(sub, argparse.ArgumentParser(add_help=False))
    return set(sub.choices)


def test_the_table_and_the_modules_agree() -> None:
    listed: dict[str, set[str]] = defaultdict(set)
    for name, (module, summary) in COMMANDS.items():
        listed[module].add(name)
        assert summary
    for module, names in listed.items():
        assert registered_by(module) == names, module


def test_the_command_word_is_found_past_the_global_options() -> None:
    assert command_of(["--home", "x", "design", "list"]) == "design"
    assert command_of(["--home=x", "id"]) == "id"
    assert command_of(["--help"]) is None and command_of(["nonsense"]) is None


def test_help_imports_no_command_module_nor_the_server() -> None:
    probe = (
        "import sys\n"
        "from node.cli.main import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in sys.modules if m.startswith(('fastapi', 'libp2p', 'trio',"
        " 'node.cli.', 'node.daemon')) and m != 'node.cli.main']\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_a_reader_that_leaves_early_gets_no_traceback(tmp_path: Path) -> None:
    """`fabnode ledger log | head -1`: the pipe closes mid-output; the command ends
    quietly with 141 (128 + SIGPIPE, as cat does), not a BrokenPipeError traceback."""
    home = tmp_path / "lab"
    assert fabnode("init", home=home)[0] == 0
    for i in range(10):  # ~200 KB of JSON: more than a pipe's buffer holds
        assert fabnode("note", f"note {i} " + "x" * 10_000, home=home)[0] == 0
    argv = [sys.executable, "-m", "node.cli", "--home", str(home), "ledger", "log", "--json"]
    env = {**os.environ, "FABNODE_STATE_DIR": str(tmp_path / "state")}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(10)
    proc.stdout.close()  # the reader leaves
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141 and "Traceback" not in err
