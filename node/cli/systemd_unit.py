"""The systemd unit that runs `fabnode --home HOME run` (README "Running as a service").

`render_unit(spec)` is text only: no file, no systemctl (node.cli.service does those).
It guarantees a unit that `systemd-analyze verify` accepts and that confines the node
to what it uses (systemd.exec(5)):

- files: the whole file system read-only (ProtectSystem=strict) but the home and the
  signing-guard state folder (ReadWritePaths; node.store.signguard keeps that one
  outside the home on purpose); /home, /root and /run/user hidden (ProtectHome=yes), or
  read-only when the home, the state folder or the program lives there; a private
  /tmp (unless one of those lives in /tmp); no devices but the pseudo ones;
- process: no new privileges, no capabilities (system unit), no kernel tunables,
  modules, logs or clock, no personality change, no realtime, no namespaces, no
  writable-and-executable memory (MemoryDenyWriteExecute: Python and every native
  dependency run under it; tests/node/cli/test_service.py runs a node so confined);
- network: IPv4, IPv6, Unix sockets and netlink (interface lists for mDNS) only;
- life: restarted 5 s after a failure, stopped by SIGTERM like Ctrl-C (the node
  closes its ledger cleanly), its log on the journal as JSON lines (node.logs).

A system unit names the user it runs as (the home's owner: the key files are 0600).
A value that holds whitespace, quotes, `%` or `$` is quoted and escaped as systemd
reads it; a newline cannot be written in a unit and is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from node.i18n import N_, localized
from protocol.errors import LocalMisuseError

Scope = Literal["system", "user"]

RESTART_SEC: Final = 5
STOP_TIMEOUT_SEC: Final = 30
#: Where a path makes ProtectHome=yes impossible (it would hide it).
HOME_FOLDERS: Final = (Path("/home"), Path("/root"), Path("/run/user"))
TMP_FOLDERS: Final = (Path("/tmp"), Path("/var/tmp"))
#: systemd refuses these in ExecStart's program path (string_is_safe, systemd 252).
UNSAFE_IN_PROGRAM: Final = "\\\"'"
ADDRESS_FAMILIES: Final = "AF_INET AF_INET6 AF_UNIX AF_NETLINK"

#: The confinement every unit gets (systemd.exec(5)), beyond the paths.
HARDENING: Final = (
    ("NoNewPrivileges", "yes"),
    ("ProtectSystem", "strict"),
    ("PrivateDevices", "yes"),
    ("ProtectKernelTunables", "yes"),
    ("ProtectKernelModules", "yes"),
    ("ProtectKernelLogs", "yes"),
    ("ProtectControlGroups", "yes"),
    ("ProtectClock", "yes"),
    ("ProtectHostname", "yes"),
    ("RestrictAddressFamilies", ADDRESS_FAMILIES),
    ("RestrictNamespaces", "yes"),
    ("RestrictRealtime", "yes"),
    ("RestrictSUIDSGID", "yes"),
    ("LockPersonality", "yes"),
    ("MemoryDenyWriteExecute", "yes"),
    ("SystemCallArchitectures", "native"),
    ("UMask", "0077"),
)


@dataclass(frozen=True)
class UnitSpec:
    """What one node's unit says: the command, the folders it writes, who runs it."""

    scope: Scope
    program: Sequence[str]  # the `fabnode` to run: a script, or python -m node.cli
    home: Path
    state_dir: Path
    run_args: Sequence[str] = ()
    user: str | None = None  # a system unit's User=
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def command(self) -> list[str]:
        return [*self.program, "--home", str(self.home), "run", *self.run_args]


def render_unit(spec: UnitSpec) -> str:
    """The unit file's text."""
    if spec.scope == "system" and not spec.user:
        raise LocalMisuseError("misuse.bad-argument", N_("a system unit needs the user it runs as"))
    for path in (spec.home, spec.state_dir, Path(spec.program[0])):
        if not path.is_absolute():
            why = N_("{path} is not an absolute path")
            raise localized(LocalMisuseError, "misuse.bad-argument", why, path=path)
    if any(c in UNSAFE_IN_PROGRAM or ord(c) < 32 for c in spec.program[0]):
        why = N_("systemd runs no program whose path holds a quote or a backslash: {program}")
        raise localized(LocalMisuseError, "misuse.bad-argument", why, program=spec.program[0])
    environment = {"FABNODE_LOG_FORMAT": "json", "FABNODE_STATE_DIR": str(spec.state_dir)}
    environment |= spec.environment
    lines = [
        "[Unit]",
        f"Description=Fab Commons node ({_escape_specifiers(str(spec.home))})",
        "After=network-online.target",
        "Wants=network-online.target",
        "",
        "[Service]",
        "Type=exec",
        *([f"User={quote(spec.user)}"] if spec.scope == "system" and spec.user else []),
        f"ExecStart={' '.join(quote(arg, command=True) for arg in spec.command)}",
        *(f"Environment={quote(f'{k}={v}')}" for k, v in sorted(environment.items())),
        "Restart=on-failure",
        f"RestartSec={RESTART_SEC}",
        f"TimeoutStopSec={STOP_TIMEOUT_SEC}",
        *(f"{key}={value}" for key, value in HARDENING),
        f"ProtectHome={protect_home(spec)}",
        f"PrivateTmp={private_tmp(spec)}",
        f"ReadWritePaths={quote(str(spec.home))} {quote(str(spec.state_dir))}",
        *(["CapabilityBoundingSet=", "AmbientCapabilities="] if spec.scope == "system" else []),
        "",
        "[Install]",
        f"WantedBy={'multi-user.target' if spec.scope == 'system' else 'default.target'}",
    ]
    return "\n".join(lines) + "\n"


def protect_home(spec: UnitSpec) -> str:
    """`yes` (hide /home, /root, /run/user) unless the node needs something there."""
    return "read-only" if spec.scope == "user" or _needs(spec, HOME_FOLDERS) else "yes"


def private_tmp(spec: UnitSpec) -> str:
    """`yes` (a /tmp of its own) unless the home, the state or the program is in /tmp,
    which a private /tmp would hide."""
    return "no" if _needs(spec, TMP_FOLDERS) else "yes"


def _needs(spec: UnitSpec, folders: Sequence[Path]) -> bool:
    needed = [spec.home, spec.state_dir, Path(spec.program[0])]
    return any(path.is_relative_to(folder) for path in needed for folder in folders)


def quote(value: str, *, command: bool = False) -> str:
    """`value` as one word of a unit setting (systemd.syntax(7)): `%` doubled (a
    specifier otherwise), `$` doubled in a command line (a variable otherwise), and
    double quotes with backslash escapes when it holds a space, a quote or a backslash."""
    if "\n" in value or "\r" in value:
        why = N_("{value}: a unit cannot hold a newline")
        raise localized(LocalMisuseError, "misuse.bad-argument", why, value=repr(value))
    text = _escape_specifiers(value)
    if command:
        text = text.replace("$", "$$")
    if any(c in text for c in " \t\"'\\;") or not text:
        text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def _escape_specifiers(value: str) -> str:
    return value.replace("%", "%%")
