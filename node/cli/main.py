"""`fabnode`, the command line of a Fab Commons node (README "Command line").

Every command takes `--json` for machine-readable output. Failures print
{"error": {"code", "message", ...}} (or a line for people) and exit with 1;
a misused command line exits with 2.

A command table (pip's `commands_dict`) names the module of each command; only the
module of the command being run is imported, so `fabnode id` or `fabnode --help`
load no server and no libp2p. Modules under node.cli use node.ops, node.store and the
node's HTTP client; the two commands that run more in-process live beside what they
run: `run` (node.run, the daemon), `join` (a libp2p host) in node.join.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from node.i18n import N_, _, language_from_env, message, speaking_to_argparse, text_of, use
from protocol.errors import CommonsError

Handler = Callable[[argparse.Namespace], dict[str, Any]]
#: The exit status of a command whose reader closed the pipe (128 + SIGPIPE, as a shell
#: reports a program killed by it).
EXIT_BROKEN_PIPE = 141

#: command -> (module with its `add_commands(sub, common)`, one line of help).
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("node.cli.identity", N_("create this node's identity")),
    "id": ("node.cli.identity", N_("print this node's identity")),
    "entry": ("node.cli.entries", N_("inspect encoded entries")),
    "key": ("node.cli.keys", N_("this identity's keys: show, rotate, revoke a stolen one")),
    "run": ("node.run", N_("run the node until Ctrl-C")),
    "status": ("node.cli.status", N_("ask the running node for its state")),
    "doctor": ("node.cli.doctor", N_("can peers reach this node? what to change")),
    "note": ("node.cli.ledger", N_("append a free-text note to our log")),
    "ledger": ("node.cli.ledger", N_("the node's logs")),
    "blob": ("node.cli.blobs", N_("content-addressed files (designs, job files)")),
    "licence": ("node.cli.licences", N_("SPDX licence expressions and derivatives")),
    "design": ("node.cli.designs", N_("open-hardware designs (specs/0010)")),
    "federation": ("node.cli.governance", N_("a federation's charter (specs/0008)")),
    "join": ("node.join", N_("join a federation by its network id")),
    "propose": ("node.cli.governance", N_("open a proposal")),
    "vote": ("node.cli.governance", N_("vote on a proposal")),
    "tally": ("node.cli.governance", N_("a proposal's tally (live, then final)")),
    "proposals": ("node.cli.governance", N_("every proposal with its tally")),
    "rules": ("node.cli.governance", N_("the rules in force")),
    "member": ("node.cli.governance", N_("membership")),
    "capability": (
        "node.cli.capabilities",
        N_("what labs can make: adverts, matching (specs/0011)"),
    ),
    "sealed": ("node.cli.capabilities", N_("private job files sealed to a lab (specs/0011 §6)")),
    "job": ("node.cli.jobs", N_("job offers, bids and their lifecycle (specs/0007)")),
    "lab": ("node.cli.jobs", N_("labs")),
    "contributions": ("node.cli.jobs", N_("what an identity contributed")),
    "demo": ("node.demo.command", N_("run a seeded three-lab federation on loopback")),
    "dashboard": ("node.demo.command", N_("print the running node's dashboard URL")),
    "watch": ("node.cli.progress", N_("follow the running node: progress bars, new entries")),
    "backup": ("node.cli.backup", N_("write the home to one file (node may run)")),
    "restore": ("node.cli.backup", N_("unpack a backup into a new --home")),
    "service": ("node.cli.service", N_("run this home's node under systemd")),
    "du": ("node.cli.storage", N_("what the home holds, by part")),
    "gc": ("node.cli.storage", N_("evict blobs this node has no reason to keep")),
    "notify": (
        "node.cli.notify",
        N_("notifications: settings (e-mail, webhooks), list, delivery log"),
    ),
}


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    lang = lang_of(args_list)
    use(lang or language_from_env(os.environ), chosen=lang is not None)  # --help speaks it
    with speaking_to_argparse(os.environ):  # "usage:", "options", argparse's errors
        parser = build_parser(command_of(args_list))
        args = parser.parse_args(args_list)
        handler: Handler | None = getattr(args, "handler", None)
        if handler is None:
            parser.print_help()
            return 2
    try:
        result = handler(args)
    except CommonsError as e:
        _print_error(args, e)
        return 1
    status = int(result.pop("_exit", 0))
    try:
        _print_result(args, result)
        sys.stdout.flush()
    except BrokenPipeError:  # `fabnode ledger log | head`: the reader left; as cat does
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes at exit
        return EXIT_BROKEN_PIPE
    return status


def command_of(argv: Sequence[str]) -> str | None:
    """The command word of a command line: the first word that is not a global option."""
    words = iter(argv)
    for word in words:
        if word in ("--home", "--lang"):
            next(words, None)
        elif not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def lang_of(argv: Sequence[str]) -> str | None:
    """The `--lang` of a command line (`--lang es` or `--lang=es`), if any."""
    for i, word in enumerate(argv):
        if word == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
        if word.startswith("--lang="):
            return word.removeprefix("--lang=")
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser with every command listed; only `command`'s module is imported, and
    its commands get their full arguments (the others parse as stubs with their help)."""
    parser = argparse.ArgumentParser(prog="fabnode", description=_("Fab Commons node"))
    parser.add_argument(
        "--home",
        type=Path,
        default=Path(os.environ.get("FABNODE_HOME", Path.home() / ".fabnode")),
        help=_("node home folder (default: $FABNODE_HOME or ~/.fabnode)"),
    )
    parser.add_argument(
        "--lang",
        metavar="LANG",
        help=_(
            "language of the human output, e.g. es or fr_FR (default: from LC_ALL, "
            "LC_MESSAGES, LANG; --json output is never translated)"
        ),
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help=_("print JSON"))
    sub = parser.add_subparsers(metavar="COMMAND")
    chosen = COMMANDS[command][0] if command is not None else None
    for name, (module, summary) in COMMANDS.items():
        if module == chosen:
            if name == command:  # a module registers all of its commands at once
                importlib.import_module(module).add_commands(sub, common)
        else:
            sub.add_parser(name, help=_(summary), add_help=False)
    return parser


def _print_result(args: argparse.Namespace, result: dict[str, Any]) -> None:
    text = result.pop("_text", None)
    for warning in result.get("warnings", []):  # also in the JSON, for scripts
        if isinstance(warning, dict):  # a typed warning: {code, message}
            line = _("warning [{code}]: {message}")
            line = line.format(code=warning["code"], message=message(warning["message"]))
            print(line, file=sys.stderr)
    if getattr(args, "json", False) or text is None:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        print(text)


def _print_error(args: argparse.Namespace, error: CommonsError) -> None:
    if getattr(args, "json", False):
        print(json.dumps({"error": error.to_json()}, indent=2, sort_keys=True))
    else:
        text = _("error [{code}]: {message}")
        print(text.format(code=error.code, message=text_of(error, error.message)), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
