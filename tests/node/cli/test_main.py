"""The command table (node.cli.main): every command a module registers is listed under
that module, every listed command is registered by its module, and `--help` loads no
command module at all."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from collections import defaultdict

from node.cli.main import COMMANDS, command_of


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
