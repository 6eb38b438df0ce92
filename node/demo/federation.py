"""`fabnode demo`: a three-lab federation on loopback, seeded, until Ctrl-C (`make run`).

Three homes (in a temporary folder, or under `--home`), each served by its own
`fabnode run` process — real libp2p hosts on 127.0.0.1, wired by bootstrap
addresses, on one development network. On first start the federation is seeded
through each node's local API, as a user would: the bundled STL parts
(node.demo.parts) as designs, one of them remixed by another lab (a lineage), a few
real OKH-LOSH manifests when a folder of them is at hand, then whatever the
`SEEDERS` add (capability adverts, an open job, an open proposal: each seeder
skips itself when the node does not serve its routes). Then it prints the
dashboard URL of each lab, with its token in the URL fragment, which browsers
never send to a server.

Ctrl-C (or SIGTERM) stops the three nodes with SIGTERM and waits for each; a
temporary folder is then removed, a `--home` kept (a later run reuses it).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from node.demo.lab import Lab, Say
from node.demo.seed import seed
from node.i18n import _
from node.store.home import NodeHome
from protocol.errors import RemoteFaultError
from protocol.governance import parse_charter_toml
from protocol.ids import id_to_text

LABS = ("lab-aurora", "lab-borealis", "lab-cassini")
FEDERATION = "Fab Commons demo federation"
#: The demo charter's rules (specs/0008 §2): a day to vote, two witnesses of three.
DEMO_RULES = """
[rules]
quorum_permille = 334
pass_threshold_permille = 500
veto_threshold_permille = 334
voting_period_s = 86400
effect_delay_s = 3600
admission_vouches = 2
licences = ["CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0", "CERN-OHL-P-2.0", "CERN-OHL-S-2.0",
  "CERN-OHL-W-2.0", "GPL-3.0-or-later", "MIT"]
max_entry_bytes = 65536
max_str_bytes = 16384
max_blob_bytes = 104857600
job_offer_ttl_s = 604800
witness_count = 2
"""
READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0
SEEDED_MARK = "seeded"


def run_demo(
    root: Path | None,
    okh_folder: Path | None,
    say: Say,
    on_ready: Callable[[list[Lab], Path], None],
    stop: threading.Event,
) -> None:
    """Run the federation until `stop` is set; `say` reports progress, `on_ready` the URLs."""
    temporary = root is None
    base = Path(tempfile.mkdtemp(prefix="fabcommons-demo-")) if root is None else root
    try:
        with ExitStack() as stack:
            labs = start_labs(stack, base, say)
            if not (base / SEEDED_MARK).exists():
                seed(labs, base, okh_folder, say)
                (base / SEEDED_MARK).write_text("1\n")
            on_ready(labs, base)
            stop.wait()
            say(_("stopping the three nodes…"))
    finally:
        if temporary:
            shutil.rmtree(base, ignore_errors=True)


def start_labs(stack: ExitStack, base: Path, say: Say) -> list[Lab]:
    """Start the three nodes, the first one's address the others' bootstrap; on the
    first start, make the three homes the founders of one test federation."""
    homes = [NodeHome(base / name) for name in LABS]
    if not any(h.exists() for h in homes):
        ids = [h.create_identity().id for h in homes]
        charter = parse_charter_toml(demo_charter_toml(ids))
        for home in homes:
            home.adopt_charter(charter, [])
        created = _("created the test federation {name} with three founding labs")
        say(created.format(name=repr(charter.name)))
    labs: list[Lab] = []
    for name in LABS:
        home = NodeHome(base / name)
        if not home.exists():
            home.create_identity()
        bootstrap = [a for lab in labs[:1] for a in lab.ready["listen"]]
        say(_("starting {name}…").format(name=name))
        process, ready = stack.enter_context(node_process(home, bootstrap))
        labs.append(Lab(name, home, process, ready))
    return labs


def demo_charter_toml(members: list[bytes]) -> str:
    """The charter of the demo: a test federation (specs/0008 §1.2) of `members`."""
    listed = ", ".join(f'"{id_to_text(m)}"' for m in members)
    head = [
        "version = 1",
        f'name = "{FEDERATION}"',
        'text = "Three labs on one machine, sharing open designs and machine time."',
        "test = true",
        f"members = [{listed}]",
    ]
    return "\n".join(head) + "\n" + DEMO_RULES


@contextmanager
def node_process(
    home: NodeHome, bootstrap: list[str]
) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    """One `fabnode run` child; SIGTERM and wait at the end (a clean stop)."""
    argv = [sys.executable, "-m", "node.cli", "--home", str(home.path), "run", "--json"]
    for address in bootstrap:
        argv += ["--bootstrap", address]
    log = (home.path / "node.log").open("a")
    process = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        start_new_session=True,  # Ctrl-C reaches us; we stop the children in order
    )
    try:
        yield process, _ready(process, home)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()
        log.close()


def _ready(process: subprocess.Popen[str], home: NodeHome) -> dict[str, Any]:
    assert process.stdout is not None
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise RemoteFaultError(
                "remote.node-failed", f"the node of {home.path} stopped; see its node.log"
            )
        if line.startswith("{") and '"ready"' in line:
            ready: dict[str, Any] = json.loads(line)["ready"]
            return ready
    raise RemoteFaultError("remote.node-failed", f"the node of {home.path} did not start")


def ready_text(labs: list[Lab], base: Path) -> str:
    lines = ["", _("Fab Commons demo federation is running (three labs on loopback)."), ""]
    for lab in labs:
        lines.append(f"  {lab.name:14} {lab.dashboard_url}")
    lines += [
        "",
        _("Open the first URL in a browser. Homes: {base}").format(base=base),
        _("The token after #token= is this lab's API token; keep the URL private."),
        _("Press Ctrl-C to stop everything."),
    ]
    return "\n".join(lines)


def ready_json(labs: list[Lab], base: Path) -> dict[str, Any]:
    return {
        "home": str(base),
        "labs": [
            {
                "name": lab.name,
                "home": str(lab.home.path),
                "api": lab.ready["api"],
                "dashboard": lab.dashboard_url,
                "listen": lab.ready["listen"],
            }
            for lab in labs
        ],
    }


def default_okh_folder() -> Path | None:
    """The OKH-LOSH sample next to the checkout (../shared/data/okh-losh), if present."""
    for start in (Path.cwd(), Path(__file__).resolve().parent.parent):
        candidate = start.parent / "shared" / "data" / "okh-losh" / "manifest_files"
        if candidate.is_dir():
            return candidate
    return None
