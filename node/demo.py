"""`fabnode demo`: a three-lab federation on loopback, seeded, until Ctrl-C (`make run`).

Three homes (in a temporary folder, or under `--home`), each served by its own
`fabnode run` process — real libp2p hosts on 127.0.0.1, wired by bootstrap
addresses, on one development network. On first start the federation is seeded
through each node's local API, as a user would: the bundled STL parts
(node.parts) as designs, one of them remixed by another lab (a lineage), a few
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from node.client import NodeClient
from node.home import NodeHome
from node.parts import PARTS_FOLDER
from protocol.errors import CommonsError, RemoteFaultError

LABS = ("lab-aurora", "lab-borealis", "lab-cassini")
DEMO_NETWORK = "demo-federation"
READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0
OKH_MANIFESTS = 4
OKH_PREFERRED = ("FarmBot", "Jubilee", "OpenPCR", "lasersaur")
SEEDED_MARK = "seeded"
#: The bundled parts, each published by the first lab under an open licence.
PART_DESIGNS = (
    ("calibration-cube-20mm.stl", "Calibration cube 20 mm", "CC0-1.0", "Check a printer's scale"),
    ("l-bracket-40x30x20.stl", "L bracket 40x30x20", "CERN-OHL-S-2.0", "Mount a shelf or a rail"),
    ("spacer-m5-10x8.stl", "M5 spacer 10x8", "CERN-OHL-P-2.0", "Space a PCB off its case"),
)


@dataclass
class Lab:
    name: str
    home: NodeHome
    process: subprocess.Popen[str]
    ready: dict[str, Any]

    @property
    def client(self) -> NodeClient:
        return NodeClient(self.ready["api"], self.home.api_token())

    @property
    def dashboard_url(self) -> str:
        return f"{self.ready['api']}/#token={self.home.api_token()}"


Say = Callable[[str], None]
Seeder = Callable[[list[Lab], Path, Say], None]


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
            say("stopping the three nodes…")
    finally:
        if temporary:
            shutil.rmtree(base, ignore_errors=True)


def start_labs(stack: ExitStack, base: Path, say: Say) -> list[Lab]:
    labs: list[Lab] = []
    for name in LABS:
        home = NodeHome(base / name)
        if not home.exists():
            home.create_identity()
            home.set_development_network(DEMO_NETWORK)
        bootstrap = [a for lab in labs[:1] for a in lab.ready["listen"]]
        say(f"starting {name}…")
        process, ready = stack.enter_context(node_process(home, bootstrap))
        labs.append(Lab(name, home, process, ready))
    return labs


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


# -- seeding ---------------------------------------------------------------------------


def seed(labs: list[Lab], base: Path, okh_folder: Path | None, say: Say) -> None:
    for seeder in SEEDERS:
        seeder(labs, base, say)
    if okh_folder is not None:
        seed_okh(labs, okh_folder, say)
    else:
        say("no OKH manifests folder found (--okh DIR): only the bundled parts are seeded")


def seed_parts(labs: list[Lab], base: Path, say: Say) -> None:
    """The bundled STL parts as designs of the first lab; a remix by the second."""
    published: dict[str, str] = {}
    for file_name, name, licence, function in PART_DESIGNS:
        folder = base / "seed" / file_name.removesuffix(".stl")
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(PARTS_FOLDER / file_name, folder / file_name)
        _manifest(folder, name, licence, labs[0].name, function, file_name)
        out = labs[0].client.call("POST", "/api/v1/designs", {"path": str(folder)})
        published[file_name] = out["design_id"]
        say(f"{labs[0].name} published {name} ({licence})")
    remix = base / "seed" / "bracket-remix"
    remix.mkdir(parents=True, exist_ok=True)
    shutil.copy(PARTS_FOLDER / "l-bracket-40x30x20.stl", remix / "l-bracket-remix.stl")
    name = "L bracket, wider screw holes"
    _manifest(remix, name, "CERN-OHL-S-2.0", labs[1].name, "A remix", "l-bracket-remix.stl")
    body = {"path": str(remix), "derived_from": [published["l-bracket-40x30x20.stl"]]}
    labs[1].client.call("POST", "/api/v1/designs", body)
    say(f"{labs[1].name} published {name}, derived from the L bracket")


def _manifest(folder: Path, name: str, licence: str, by: str, function: str, source: str) -> None:
    lines = [
        f"name = {json.dumps(name)}",
        f"license = {json.dumps(licence)}",
        f"licensor = {json.dumps(by)}",
        f"function = {json.dumps(function)}",
        f"source = {json.dumps(source)}",
    ]
    (folder / "okh.toml").write_text("\n".join(lines) + "\n")


def seed_okh(labs: list[Lab], folder: Path, say: Say) -> None:
    """A few real OKH-LOSH manifests, imported by the third lab."""
    every = sorted(folder.rglob("*.toml"))
    known = [p for p in every if p.stem.removeprefix("okh-") in OKH_PREFERRED]
    manifests = (known or every)[:OKH_MANIFESTS]
    if not manifests:
        return
    try:
        out = labs[2].client.call(
            "POST", "/api/v1/designs/import-okh", {"paths": [str(p) for p in manifests]}
        )
    except CommonsError as e:
        say(f"OKH import skipped: {e.code}: {e.message}")
        return
    say(f"{labs[2].name} imported {out.get('imported', 0)} OKH manifests")


def seed_optional(path: str, what: str, build: Callable[[list[Lab]], None]) -> Seeder:
    """A seeder for a feature the node may not serve: skipped when its routes are absent."""

    def seeder(labs: list[Lab], _base: Path, say: Say) -> None:
        try:
            labs[0].client.call("GET", path)
        except CommonsError as e:
            if e.code != "http.404":
                raise
            say(f"no {what} seeded: this node does not serve {path}")
            return
        build(labs)
        say(f"seeded {what}")

    return seeder


#: Each lab's advert: where it is, what it makes (specs/0011; degrees and mm for ease).
ADVERTS = (
    ("Fab Lab Aurora", (41.3969, 2.1943), [
        ("3dp-fdm", "Prusa", "MK4", [250, 210, 220], ["PETG", "PLA"], "m", 12_000, (300, 8, 250)),
        ("laser-cutting", "Trotec", "Speedy 400", [1000, 610, 305], ["MDF", "PMMA", "plywood"],
         "m", 400_000, (500, 2, 4_000)),
    ]),
    ("Fab Lab Borealis", (52.3728, 4.9003), [
        ("3dp-sla", "Formlabs", "Form 3", [145, 145, 185], ["resin-standard"], "f", 8_000,
         (800, 25, 600)),
        ("cnc-milling", "Shopbot", "PRSalpha", [2440, 1220, 200], ["MDF", "aluminium", "plywood"],
         "m", 600_000, (1_500, 3, 6_000)),
    ]),
    ("Fab Lab Cassini", (45.7640, 4.8357), [
        ("3dp-fdm", "Ultimaker", "S5", [330, 240, 300], ["ABS", "PETG", "PLA"], "m", 15_000,
         (400, 9, 300)),
    ]),
)  # fmt: skip


def seed_adverts(labs: list[Lab]) -> None:
    for lab, (name, (lat, lon), machines) in zip(labs, ADVERTS, strict=True):
        advert = {
            "name": name,
            "location": {"lat": str(lat), "lon": str(lon)},
            "currency": "EUR",
            "lead_time_days": 5,
            "availability": "open",
            "machines": [
                {
                    "process": process,
                    "make": make,
                    "model": model,
                    "build_volume_mm": volume,
                    "materials": materials,
                    "tolerance": tolerance,
                    "throughput_mm3_per_hour": throughput,
                    "price": {
                        "setup_fee_minor": setup,
                        "per_cm3_minor": per_cm3,
                        "per_hour_minor": per_hour,
                    },
                }
                for process, make, model, volume, materials, tolerance, throughput, (
                    setup,
                    per_cm3,
                    per_hour,
                ) in machines
            ],
        }
        lab.client.call("POST", "/api/v1/capabilities", {"advert": advert})


def seed_job(labs: list[Lab]) -> None:
    """An open job: the third lab wants ten L brackets printed near the first."""
    customer = labs[2].client

    def bracket() -> list[dict[str, Any]]:
        found = customer.call("GET", "/api/v1/designs?q=bracket&limit=20")["designs"]
        return [d for d in found if d["name"] == "L bracket 40x30x20"]

    design = _poll(bracket)
    (lat, lon) = ADVERTS[0][1]
    offer = {
        "title": "Ten L brackets for a shelf",
        "design": design[0]["id"],
        "process": "3dp-fdm",
        "material": "PETG",
        "quantity": 10,
        "deadline_ms": int(time.time() * 1000) + 21 * 86_400_000,
        "location": {"lat_microdeg": int(lat * 1e6), "lon_microdeg": int(lon * 1e6)},
        "radius_km": 1500,
        "budget": {"amount_minor": 6000, "currency": "EUR"},
        "note": "Seeded by the demo",
    }
    customer.call("POST", "/api/v1/jobs", offer)


def _poll(check: Callable[[], list[dict[str, Any]]], timeout_s: float = 60.0) -> Any:
    """Wait for gossip or sync to bring what `check` looks for (a deadline, not a sleep)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise RemoteFaultError("remote.timeout", "the labs did not sync in time")


#: Everything seeded on first start, in order. A governance seeder (an open
#: proposal) joins here once nodes serve /api/v1/governance.
SEEDERS: list[Seeder] = [
    seed_parts,
    seed_optional("/api/v1/capabilities", "capability adverts", seed_adverts),
    seed_optional("/api/v1/jobs", "an open job", seed_job),
]


def ready_text(labs: list[Lab], base: Path) -> str:
    lines = ["", "Fab Commons demo federation is running (three labs on loopback).", ""]
    for lab in labs:
        lines.append(f"  {lab.name:14} {lab.dashboard_url}")
    lines += [
        "",
        f"Open the first URL in a browser. Homes: {base}",
        "The token after #token= is this lab's API token; keep the URL private.",
        "Press Ctrl-C to stop everything.",
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
