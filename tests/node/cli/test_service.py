"""`fabnode service` (node.cli.service, node.cli.systemd_unit): the units pass
`systemd-analyze verify` with nothing to say and carry the confinement README
"Running as a service" promises; status wraps systemctl; and a real node runs under
the unit's seccomp settings (MemoryDenyWriteExecute, RestrictAddressFamilies)."""

from __future__ import annotations

import json
import os
import platform
import pwd
import shutil
import socket
import stat
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from node.cli.main import main
from node.cli.service import fabnode_program
from node.cli.systemd_unit import UnitSpec, quote, render_unit
from node.demo.parts import PARTS_FOLDER
from protocol.errors import LocalMisuseError
from tests.cli_helpers import fabnode
from tests.node_process import api, running_node

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed (apt install systemd)"
)
ME = pwd.getpwuid(os.getuid()).pw_name


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, dict[str, object]]:
    status = main([str(a) for a in argv])
    return status, json.loads(capsys.readouterr().out)


def directives(text: str) -> dict[str, list[str]]:
    """`Key=value` lines of a unit by key (a key may repeat, e.g. Environment=)."""
    found: dict[str, list[str]] = defaultdict(list)
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found[key].append(value)
    return found


def verify(unit: Path, *, user: bool = False, runtime: Path | None = None) -> str:
    """What `systemd-analyze verify` says about the unit ("" when all is well)."""
    assert SYSTEMD_ANALYZE is not None
    env = dict(os.environ)
    if runtime is not None:  # a user manager's lookup needs a runtime folder
        runtime.mkdir(mode=0o700, exist_ok=True)
        env["XDG_RUNTIME_DIR"] = str(runtime)
    argv = [SYSTEMD_ANALYZE, *(["--user"] if user else []), "verify", str(unit)]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return (done.stdout + done.stderr).strip()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FABNODE_STATE_DIR", str(tmp_path / "state"))
    path = tmp_path / "lab"
    assert fabnode("init", home=path, state=tmp_path / "state")[0] == 0
    return path


@needs_analyze
def test_the_system_unit_verifies_and_confines_the_node(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    units = tmp_path / "units"
    argv = ("--home", home, "service", "install", "--json", "--unit-dir", units, "--as", ME)
    status, out = run_cli(capsys, *argv, "--", "--mdns", "--api-port", "8080")
    assert status == 0 and out["installed"] is True
    unit = units / "fabnode.service"
    assert verify(unit) == ""
    d = directives(unit.read_text())
    program = " ".join(fabnode_program())
    assert d["ExecStart"] == [f"{program} --home {home} run --mdns --api-port 8080"]
    assert d["User"] == [ME] and d["WantedBy"] == ["multi-user.target"]
    assert "FABNODE_LOG_FORMAT=json" in d["Environment"]
    assert f"FABNODE_STATE_DIR={tmp_path / 'state'}" in d["Environment"]
    assert d["ReadWritePaths"] == [f"{home} {tmp_path / 'state'}"]
    for key, value in {
        "Restart": "on-failure",
        "RestartSec": "5",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "no",  # the test's home is in /tmp, which a private /tmp would hide
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes",
        "ProtectControlGroups": "yes",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX AF_NETLINK",
        "LockPersonality": "yes",
        "MemoryDenyWriteExecute": "yes",
        "CapabilityBoundingSet": "",
    }.items():
        assert d[key] == [value], key
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700


@needs_analyze
def test_the_user_unit_verifies_under_a_user_manager(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    units = tmp_path / "units"
    status, _ = run_cli(capsys, "--home", home, "service", "install", "--user", "--json",
                        "--unit-dir", units, "--name", "fabnode-b")  # fmt: skip
    assert status == 0
    unit = units / "fabnode-b.service"
    assert verify(unit, user=True, runtime=tmp_path / "runtime") == ""
    d = directives(unit.read_text())
    assert "User" not in d and "CapabilityBoundingSet" not in d
    assert d["WantedBy"] == ["default.target"] and d["ProtectHome"] == ["read-only"]


@needs_analyze
def test_awkward_paths_are_quoted_as_systemd_reads_them(tmp_path: Path) -> None:
    """A program in a folder with a space and a `%`: verify finds it (it checks that
    ExecStart's program exists), so the quoting held. One with a quote, which systemd
    would refuse to run, is refused at once."""
    odd = tmp_path / "lab tools 100%"
    odd.mkdir()
    (odd / "fabnode").symlink_to(sys.executable)
    home = Path("/srv/fab $HOME")
    spec = UnitSpec("system", [str(odd / "fabnode")], home, Path("/var/lib/x"), (), ME)
    unit = tmp_path / "odd.service"
    unit.write_text(render_unit(spec))
    assert verify(unit) == ""
    start = directives(unit.read_text())["ExecStart"][0]
    assert start.startswith('"') and "100%%" in start and "$$HOME" in start
    assert quote("plain") == "plain" and quote("") == '""'
    assert quote('a "b"\\c') == '"a \\"b\\"\\\\c"'
    with pytest.raises(LocalMisuseError):
        quote("two\nlines")
    with pytest.raises(LocalMisuseError) as refused:
        render_unit(UnitSpec("system", ["/opt/lab's/fabnode"], home, Path("/var/lib/x"), (), ME))
    assert refused.value.code == "misuse.bad-argument"


def test_print_writes_nothing_and_uninstall_removes(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    units = tmp_path / "units"
    where = ("--unit-dir", units, "--as", ME)
    status, out = run_cli(capsys, "--home", home, "service", "install", "--print", "--json", *where)
    assert status == 0 and "[Service]" in str(out["text"]) and not units.exists()
    run_cli(capsys, "--home", home, "service", "install", "--json", *where)
    status, out = run_cli(capsys, "service", "uninstall", "--json", "--unit-dir", units)
    assert status == 0 and out["removed"] is True and not (units / "fabnode.service").exists()
    status, out = run_cli(capsys, "service", "uninstall", "--json", "--unit-dir", units)
    assert status == 1 and out["error"]["code"] == "misuse.not-installed"  # type: ignore[index]


def test_install_needs_an_initialised_home(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ("--home", tmp_path / "none", "service", "install", "--print", "--json")
    status, out = run_cli(capsys, *argv)
    assert status == 1 and out["error"]["code"].startswith("misuse.")  # type: ignore[index]


def fake_systemctl(folder: Path, state: str) -> None:
    """A systemctl that answers `show`, `is-active` and `status` for one unit."""
    folder.mkdir(exist_ok=True)
    script = folder / "systemctl"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {folder}/calls\n'
        'case "$*" in\n'
        f'  *show*) printf "ActiveState={state}\\nSubState=running\\nNRestarts=2\\n" ;;\n'
        f"  *is-active*) echo {state}; [ {state} = active ] ;;\n"
        f'  *status*) echo "● fabnode.service - Fab Commons node"; [ {state} = active ] ;;\n'
        "esac\n"
    )
    script.chmod(0o755)


@pytest.mark.parametrize(("state", "exit_status"), [("active", 0), ("inactive", 3)])
def test_status_reports_what_systemctl_says(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    state: str,
    exit_status: int,
) -> None:
    fake_systemctl(tmp_path / "bin", state)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    status, out = run_cli(capsys, "service", "status", "--user", "--json")
    assert status == exit_status
    assert out["active"] == state and out["ActiveState"] == state and out["NRestarts"] == "2"
    calls = (tmp_path / "bin" / "calls").read_text().splitlines()
    assert all(call.startswith("--user ") for call in calls)


def test_status_without_systemd_is_a_typed_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    status, out = run_cli(capsys, "service", "status", "--json")
    assert status == 1 and out["error"]["code"] == "misuse.no-systemd"  # type: ignore[index]


@pytest.mark.integration
@pytest.mark.skipif(
    platform.machine() not in ("x86_64", "aarch64"), reason="tests/confine.py knows no other"
)
def test_the_node_runs_under_the_units_seccomp_filters(tmp_path: Path) -> None:
    """MemoryDenyWriteExecute=yes is only in the unit because Python and every native
    dependency (cryptography, PyNaCl, coincurve, fastecdsa, numpy, lxml) run under it:
    a node started, serving its API and measuring a mesh (trimesh, numpy) under the
    same seccomp filter systemd installs, with only the unit's address families."""
    confined = [sys.executable, "-m", "tests.confine"]
    probe = "import mmap; mmap.mmap(-1, 4096, prot=7)"  # read, write and execute
    refused = subprocess.run(
        [*confined, sys.executable, "-c", probe], capture_output=True, check=False
    )
    assert b"PermissionError" in refused.stderr  # the filter bites
    packet = f"import socket; socket.socket({int(socket.AF_PACKET)}, socket.SOCK_RAW)"
    refused = subprocess.run(
        [*confined, sys.executable, "-c", packet], capture_output=True, check=False
    )
    assert b"Address family not supported" in refused.stderr
    home = tmp_path / "lab"
    assert fabnode("init", home=home, wrap=confined)[0] == 0
    with running_node(home, wrap=confined, env={"FABNODE_LOG_FORMAT": "json"}) as (proc, _):
        folder = tmp_path / "cube"
        folder.mkdir()
        shutil.copy(PARTS_FOLDER / "calibration-cube-20mm.stl", folder / "cube.stl")
        (folder / "okh.toml").write_text(
            'name = "Cube"\nlicense = "CERN-OHL-S-2.0"\nlicensor = "Ada Lab"\n'
            'function = "A calibration cube."\nsource = "cube.stl"\n'
        )
        design = api(home, "POST", "/api/v1/designs", {"path": str(folder)})["design_id"]
        shown = api(home, "GET", f"/api/v1/designs/{design}")
        assert shown["body"]["files"][0]["geometry"]["volume_mm3"] == 8000  # 20 mm cube
        assert api(home, "GET", "/api/v1/status")["logs"][0]["size"] >= 2
    assert proc.returncode == 0
