"""`fabnode service install|uninstall|status`: run this home's node under systemd
(README "Running as a service").

- `install [--user] [--as USER] [--name NAME] [--print] [--now] [-- RUN_ARGS]` writes
  the unit (node.cli.systemd_unit) for `fabnode --home HOME run RUN_ARGS`: as a system
  unit `/etc/systemd/system/NAME.service` (default NAME `fabnode`), or with `--user`
  in `~/.config/systemd/user/`. One plain unit, not a `fabnode@.service` template: a
  node's unit carries its home, its user and its state folder, which an instance
  name could not; a second node on the machine is a second `--name`. `--print` shows
  the unit and touches nothing. Installing creates the signing-guard state folder
  (writable in the unit, so it must exist), then reloads systemd; `--now` also
  enables and starts the unit.
- `uninstall` stops and disables the unit and removes its file.
- `status` reports `systemctl show`'s facts (with `--json`, as JSON) and exits 0 when
  the unit is active, 3 otherwise (as `systemctl is-active`).

The home must exist with an identity: the service runs as its owner (the key files
are 0600), and `run` needs the identity anyway. systemctl is called, never imported:
no systemd library is needed; its absence is `misuse.no-systemd`, a systemctl that
fails (no systemd running, an unknown unit) `misuse.systemctl-failed` with its words.
"""

from __future__ import annotations

import argparse
import os
import pwd
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

from node.cli.systemd_unit import Scope, UnitSpec, render_unit
from node.i18n import N_, _, localized
from node.store.home import NodeHome
from node.store.signguard import state_dir
from protocol.errors import LocalMisuseError

SYSTEM_UNIT_DIR: Final = Path("/etc/systemd/system")
DEFAULT_NAME: Final = "fabnode"
NAME_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,200}")
SHOWN: Final = (
    "ActiveState",
    "SubState",
    "UnitFileState",
    "MainPID",
    "NRestarts",
    "Result",
    "ExecMainStartTimestamp",
    "FragmentPath",
)
NOT_ACTIVE_EXIT: Final = 3
SYSTEMCTL_TIMEOUT_S: Final = 60


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    service = sub.add_parser("service", help=_("run this home's node under systemd"))
    actions = service.add_subparsers(metavar="ACTION")
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--user", action="store_true", help=_("a user unit (systemctl --user)"))
    where.add_argument("--name", default=DEFAULT_NAME, help=_("unit name (default: fabnode)"))
    where.add_argument("--unit-dir", type=Path, help=_("write the unit here (packaging, tests)"))
    p = actions.add_parser("install", parents=[common, where], help=_("write the systemd unit"))
    p.add_argument(
        "--as", dest="run_as", help=_("system unit: the user (default: the home's owner)")
    )
    p.add_argument("--print", "--dry-run", action="store_true", help=_("print the unit only"))
    p.add_argument("--now", action="store_true", help=_("also enable and start it"))
    p.add_argument("run_args", nargs=argparse.REMAINDER, help=_("after --: options for `run`"))
    p.set_defaults(handler=cmd_install)
    p = actions.add_parser("uninstall", parents=[common, where], help=_("stop it, remove the unit"))
    p.set_defaults(handler=cmd_uninstall)
    p = actions.add_parser("status", parents=[common, where], help=_("is it running (systemctl)"))
    p.set_defaults(handler=cmd_status)


def cmd_install(args: argparse.Namespace) -> dict[str, Any]:
    scope: Scope = "user" if args.user else "system"
    home = NodeHome(args.home.expanduser().resolve())
    home.identity()  # raises if the home has none: `fabnode --home HOME init` first
    user = None if scope == "user" else (args.run_as or _owner(home.path))
    state = _state_dir_of(user)
    run_args = args.run_args[1:] if args.run_args[:1] == ["--"] else args.run_args
    spec = UnitSpec(scope, fabnode_program(), home.path, state, run_args, user)
    text = render_unit(spec)
    path = unit_path(args, scope)
    if args.print:
        return {"unit": str(path), "text": text, "_text": text.rstrip("\n")}
    _make_state_dir(state, user)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    out: dict[str, Any] = {"unit": str(path), "installed": True}
    if args.unit_dir is None:
        _systemctl(scope, "daemon-reload")
        if args.now:
            _systemctl(scope, "enable", "--now", _unit_name(args.name))
    flag = " --user" if args.user else ""
    unit = _unit_name(args.name)
    lines = [_("wrote {file}").format(file=path)]
    if not args.now:
        lines.append(
            _("start it: {command}").format(command=f"systemctl{flag} enable --now {unit}")
        )
    lines.append(_("its log: {command}").format(command=f"journalctl{flag} -u {unit}"))
    out["_text"] = "\n".join(lines)
    return out


def cmd_uninstall(args: argparse.Namespace) -> dict[str, Any]:
    scope: Scope = "user" if args.user else "system"
    path = unit_path(args, scope)
    if not path.exists():
        raise localized(
            LocalMisuseError, "misuse.not-installed", N_("no unit at {file}"), file=path
        )
    if args.unit_dir is None:
        _systemctl(scope, "disable", "--now", _unit_name(args.name), check=False)
    path.unlink()
    if args.unit_dir is None:
        _systemctl(scope, "daemon-reload")
    return {"unit": str(path), "removed": True, "_text": _("removed {file}").format(file=path)}


def cmd_status(args: argparse.Namespace) -> dict[str, Any]:
    scope: Scope = "user" if args.user else "system"
    name = _unit_name(args.name)
    shown = _systemctl(scope, "show", name, "--property=" + ",".join(SHOWN))
    facts = dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)
    active = _systemctl(scope, "is-active", name, check=False).strip() or "unknown"
    out: dict[str, Any] = {"unit": name, "active": active, **facts}
    if not args.json:
        out["_text"] = _systemctl(scope, "status", "--no-pager", name, check=False).rstrip()
    out["_exit"] = 0 if active == "active" else NOT_ACTIVE_EXIT
    return out


def unit_path(args: argparse.Namespace, scope: Scope) -> Path:
    if not NAME_PATTERN.fullmatch(args.name) or args.name.endswith(".service"):
        raise localized(
            LocalMisuseError,
            "misuse.bad-argument",
            N_("unit name {name}: letters, digits"),
            name=repr(args.name),
        )
    if args.unit_dir is not None:
        folder: Path = args.unit_dir
    elif scope == "system":
        folder = SYSTEM_UNIT_DIR
    else:
        config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        folder = Path(config) / "systemd" / "user"
    return folder / _unit_name(args.name)


def _unit_name(name: str) -> str:
    return f"{name}.service"


def fabnode_program() -> list[str]:
    """This installation's `fabnode`: the script beside our interpreter (a venv, pipx),
    else the interpreter running the package."""
    script = Path(sys.executable).parent / "fabnode"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "node.cli"]


def _owner(path: Path) -> str:
    try:
        return pwd.getpwuid(path.stat().st_uid).pw_name
    except KeyError as e:
        raise localized(
            LocalMisuseError,
            "misuse.bad-argument",
            N_("{file}'s owner has no name: --as"),
            file=path,
        ) from e


def _state_dir_of(user: str | None) -> Path:
    """The signing-guard folder the node will use: ours (a user unit, or
    $FABNODE_STATE_DIR), else the one `fabnode` run by that user would use."""
    if user is None or os.environ.get("FABNODE_STATE_DIR"):
        return state_dir().absolute()
    try:
        return Path(pwd.getpwnam(user).pw_dir) / ".local" / "state" / "fabcommons"
    except KeyError as e:
        raise localized(
            LocalMisuseError,
            "misuse.bad-argument",
            N_("no user {user} on this machine"),
            user=repr(user),
        ) from e


def _make_state_dir(state: Path, user: str | None) -> None:
    """Create the state folder (0700); root installing for a user gives that user
    every folder it created, so the user's own `fabnode` can use them too."""
    created = [p for p in (state, *state.parents) if not p.exists()]
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    if user is not None and os.geteuid() == 0:
        entry = pwd.getpwnam(user)
        for folder in created:
            os.chown(folder, entry.pw_uid, entry.pw_gid)


def _systemctl(scope: Scope, *argv: str, check: bool = True) -> str:
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        raise LocalMisuseError("misuse.no-systemd", N_("systemctl is not installed here"))
    command = [systemctl, *(["--user"] if scope == "user" else []), *argv]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=SYSTEMCTL_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise LocalMisuseError("misuse.no-systemd", f"{' '.join(command)}: {e}") from e
    if check and done.returncode != 0:
        reason = done.stderr.strip() or f"exit status {done.returncode}"  # in the error: English
        raise LocalMisuseError("misuse.systemctl-failed", f"{' '.join(command)}: {reason}")
    return done.stdout
