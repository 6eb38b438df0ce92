"""Three labs, a designer and a customer on real nodes: a job from offer to review.

Every node is a `fabnode run` process with its own home, libp2p host and SQLite file;
every command is the real `fabnode` CLI talking to its node's API. Labs publish their
adverts before their nodes start (signed into their own logs, as `fabnode capability
set` does), then gossip and sync carry every entry to every node. Waits poll with
deadlines; nothing sleeps.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger.log import Ledger
from node.ops import capabilities
from node.ops import context as operations
from node.store.home import NodeHome
from node.store.logs import SqliteLogStore
from protocol.capability import AdvertBody
from protocol.errors import CommonsError
from protocol.ids import id_from_text, id_to_text
from tests.cli_helpers import fabnode
from tests.node_process import api, log_size, running_node, wait_until
from tests.paths import ROOT

pytestmark = pytest.mark.integration

CUBE = ROOT / "node" / "data" / "parts" / "calibration-cube-20mm.stl"
BERLIN = "52.52,13.405"


def advert(name: str, lat: int, lon: int, build_mm: int, per_cm3: int) -> dict[str, Any]:
    machine = {
        "process": "3dp-fdm", "make": "Prusa", "model": "MK4",
        "build_volume_um": [build_mm * 1000] * 3, "materials": ["PETG", "PLA"],
        "tolerance": "m", "throughput_mm3_per_hour": 15_000,
        "price": {"setup_fee_minor": 500, "per_cm3_minor": per_cm3, "per_hour_minor": 300},
    }  # fmt: skip
    return {
        "name": name, "website": None, "location": {"lat_microdeg": lat, "lon_microdeg": lon},
        "currency": "EUR", "lead_time_days": 3, "availability": "open",
        "machines": [machine], "seal_key": None,
    }  # fmt: skip


def init(root: Path, name: str) -> Path:
    home = root / name
    status, _ = fabnode("init", home=home)
    assert status == 0
    return home


def advertise_offline(home: Path, body: dict[str, Any]) -> None:
    """Publish the lab's advert, with its sealed-file key, while no node runs (the
    local path of `fabnode capability set`)."""
    previous = os.environ.get("FABNODE_STATE_DIR")
    os.environ["FABNODE_STATE_DIR"] = str(home) + "-state"
    try:
        with operations.open_local(NodeHome(home)) as ctx:
            capabilities.set_advert(ctx, AdvertBody.model_validate(body, strict=True))
    finally:
        if previous is None:
            del os.environ["FABNODE_STATE_DIR"]
        else:
            os.environ["FABNODE_STATE_DIR"] = previous


def same_everywhere(views: list[Any]) -> list[Any] | None:
    """The views when every node's equals the first, else None (keep polling)."""
    return views if all(v == views[0] for v in views) else None


def ok(home: Path, *args: str) -> Any:
    status, out = fabnode(*args, home=home)
    assert status == 0, out
    return out


def refused(home: Path, *args: str) -> str:
    """The error code of a CLI command that must fail (exit status 1)."""
    status, out = fabnode(*args, home=home)
    assert status == 1, out
    return str(out["error"]["code"])


def refused_by_api(home: Path, path: str, body: Any) -> str:
    """The error code of an API call that must fail (cheaper to run than the CLI)."""
    with pytest.raises(CommonsError) as caught:
        api(home, "POST", path, body)
    return caught.value.code


def job_on(home: Path, job: str) -> dict[str, Any] | None:
    """The job as the node of `home` derives it (through its API: cheap to poll)."""
    try:
        found: dict[str, Any] = api(home, "GET", f"/api/v1/jobs/{job}")
    except CommonsError:
        return None
    return found


def bids_on(home: Path, job: str) -> list[Any]:
    found = job_on(home, job)
    return [] if found is None else list(found["bids"])


def held(home: Path, path: str) -> bool:
    try:
        api(home, "GET", path)
    except CommonsError:
        return False
    return True


def open_near(home: Path, job: str) -> bool:
    near = "near_lat_microdeg=52520000&near_lon_microdeg=13405000"
    found = api(home, "GET", f"/api/v1/jobs?open=true&{near}")["jobs"]
    return any(j["id"] == job for j in found)


def in_state(home: Path, job: str, state: str) -> dict[str, Any] | None:
    found = job_on(home, job)
    return found if found is not None and found["state"] == state else None


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as s:
        yield s


def test_three_labs_one_job_from_offer_to_review(tmp_path: Path, stack: ExitStack) -> None:
    names = ("designer", "customer", "lab-a", "lab-b", "lab-c")
    with ThreadPoolExecutor(len(names)) as pool:  # processes: threads only wait on them
        designer, customer, lab_a, lab_b, lab_c = pool.map(lambda n: init(tmp_path, n), names)
    advertise_offline(lab_a, advert("Lab A", 52_530_000, 13_410_000, 250, 20))
    advertise_offline(lab_b, advert("Lab B", 52_390_000, 13_065_000, 200, 15))
    advertise_offline(lab_c, advert("Lab C", 52_500_000, 13_400_000, 15, 10))  # too small
    _, first = stack.enter_context(running_node(designer))
    homes = [designer, customer, lab_a, lab_b, lab_c]
    entering = threading.Lock()

    def start_node(home: Path) -> None:
        node = running_node(home, "--bootstrap", first["listen"][0])
        node.__enter__()
        with entering:
            stack.push(node.__exit__)

    with ThreadPoolExecutor(len(homes) - 1) as pool:
        list(pool.map(start_node, homes[1:]))
    ids = {h: api(h, "GET", "/api/v1/status")["identity"] for h in homes}

    folder = tmp_path / "cube"
    folder.mkdir()
    shutil.copy(CUBE, folder / CUBE.name)
    (folder / "okh.toml").write_text(
        'name = "Calibration cube"\nlicense = "CERN-OHL-S-2.0"\nlicensor = "Ada Lab"\n'
        f'function = "A cube for checking printers."\nsource = "{CUBE.name}"\n'
    )
    design = ok(designer, "design", "publish", str(folder))["design_id"]
    wait_until("the design at the customer", lambda: held(customer, f"/api/v1/designs/{design}"))
    for lab in (lab_a, lab_b, lab_c):
        wait_until("the adverts at the customer", lambda lab=lab: log_size(customer, ids[lab]))

    deadline = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    ready = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    offered = ok(customer, "job", "offer", "--title", "Five cubes", "--design", design,
                 "--quantity", "5", "--process", "3dp-fdm", "--material", "PLA",
                 "--deadline", deadline, "--at", BERLIN, "--radius-km", "50",
                 "--budget-minor", "20000", "--currency", "EUR")  # fmt: skip
    job = offered["entry_id"]
    assert [c["lab"] for c in offered["candidates"]] == [ids[lab_a], ids[lab_b]]  # nearest first
    assert all(c["quote"]["total_minor"] > 500 for c in offered["candidates"])
    assert [(e["lab"], e["reasons"]) for e in offered["excluded"]] == [
        (ids[lab_c], ["build-volume"])
    ]

    bids = {}
    for lab, price in ((lab_a, "9000"), (lab_b, "8000")):
        wait_until("the offer at the lab", lambda lab=lab: open_near(lab, job))
        bids[lab] = ok(lab, "job", "bid", job, "--price-minor", price, "--ready", ready)["entry_id"]
    wait_until("both bids at the customer", lambda: len(bids_on(customer, job)) == 2)
    award_b = {"bid": bids[lab_b]}
    assert refused_by_api(lab_b, f"/api/v1/jobs/{job}/steps/award", award_b) == "job.not-party"
    # The customer counters B's bid; B withdraws it instead; it can no longer be awarded.
    counter = {"price": {"amount_minor": 7000, "currency": "EUR"}, "ready_ms": 0, "note": "?"}
    api(customer, "POST", f"/api/v1/jobs/{job}/bids/{bids[lab_b]}/counter", counter)
    api(lab_b, "POST", f"/api/v1/jobs/{job}/bids/{bids[lab_b]}/withdraw")
    wait_until("the withdrawal at the customer", lambda: any(
        b["status"] == "withdrawn" and b["counters"] for b in bids_on(customer, job)))  # fmt: skip
    award = f"/api/v1/jobs/{job}/steps/award"
    assert refused_by_api(customer, award, award_b) == "job.bid-withdrawn"
    candidates = api(customer, "GET", f"/api/v1/jobs/{job}/candidates")
    assert candidates["candidates"] == offered["candidates"]
    ok(customer, "job", "award", job, bids[lab_a])

    wait_until("the award at lab A", lambda: in_state(lab_a, job, "awarded"))
    wait_until("the award at lab B", lambda: in_state(lab_b, job, "awarded"))
    assert refused(lab_a, "job", "ship", job) == "job.out-of-turn"  # not started yet
    start = f"/api/v1/jobs/{job}/steps/start"
    assert refused_by_api(lab_b, start, {}) == "job.not-party"  # not the awarded lab
    assert refused_by_api(customer, start, {}) == "job.not-party"
    # A private file for the awarded lab: sealed to it, carried by every node as a blob.
    secret = tmp_path / "jig.step"
    secret.write_bytes(b"ISO-10303-21; the customer's own jig\n" * 100)
    blob = ok(customer, "sealed", "seal", str(secret), "--lab", ids[lab_a])["blob"]
    ok(customer, "job", "files", job, blob)
    wait_until("the files at lab A", lambda: (job_on(lab_a, job) or {"files": []})["files"])
    # The designer's node (every lab's first peer) carries the blob without reading it.
    assert api(designer, "POST", f"/api/v1/blobs/{blob}/fetch")["status"] == "stored"
    ok(lab_a, "sealed", "open", blob, "-o", str(tmp_path / "opened.step"))
    assert (tmp_path / "opened.step").read_bytes() == secret.read_bytes()
    assert refused(lab_b, "sealed", "open", blob, "-o", str(tmp_path / "b.step")) == (
        "misuse.not-a-recipient"
    )
    for action in ("start", "ship", "deliver"):
        ok(lab_a, "job", action, job)
    wait_until("delivery at the customer", lambda: in_state(customer, job, "delivered"))
    review = {"score": 5}
    assert refused_by_api(customer, f"/api/v1/jobs/{job}/steps/review", review) == "job.out-of-turn"
    ok(customer, "job", "confirm", job)
    ok(customer, "job", "review", job, "--score", "5", "--text", "Crisp edges")

    for home in homes:
        wait_until(f"the review at {home.name}", lambda h=home: in_state(h, job, "reviewed"))
    # The review can arrive before an earlier side entry (a counter, a withdrawal) that
    # travels in another author's log: the views converge, they are not equal at once.
    views = wait_until("the same job everywhere", lambda: same_everywhere(
        [ok(customer, "job", "show", job)] + [job_on(h, job) for h in homes]))  # fmt: skip
    assert [s["kind"] for s in views[0]["steps"]] == [
        "job.award", "job.start", "job.ship", "job.deliver", "job.confirm", "job.review"
    ]  # fmt: skip
    assert views[0]["lab"] == ids[lab_a]
    reputations = wait_until("the same reputation everywhere", lambda: same_everywhere(
        [ok(customer, "lab", "reputation", ids[lab_a])]
        + [api(h, "GET", f"/api/v1/labs/{ids[lab_a]}/reputation") for h in homes]))  # fmt: skip
    rep = reputations[0]
    assert rep["completed"]["count"] == 1 and rep["on_time"]["permille"] == 1000
    assert rep["reviews"]["mean_milli"] == 5000 and rep["disputes"]["count"] == 0
    assert rep["reviews"]["entries"][0]["entry_id"] == views[0]["steps"][-1]["entry_id"]

    credited = ok(lab_b, "contributions", ids[designer])
    assert [d["entry_id"] for d in credited["designs"]] == [design]
    made = api(designer, "GET", f"/api/v1/contributions/{ids[lab_a]}")["jobs_made"]
    assert [m["job"] for m in made] == [job]


def sign_bypassing_the_api(home: Path, kind: str, body: dict[str, Any]) -> str:
    """What a modified node would do: sign a job step into its own log (node stopped)
    with none of the API's checks; its peers must refuse to apply it."""
    node_home = NodeHome(home)
    with SqliteLogStore(node_home.database) as store:
        ledger = Ledger(store)
        key = node_home.signing_key()
        me = node_home.identity().id
        _, net = node_home.network()
        [entry] = ledger.append(key, net, me, [(kind, body)], time.time_ns() // 10**6)
        ledger.sign_checkpoint(key, net, me)
    return id_to_text(entry.id)


def refused_everywhere(homes: list[Path], job: str) -> list[Any] | None:
    views = same_everywhere([job_on(h, job) for h in homes])
    return views if views is not None and views[0] is not None and views[0]["refused"] else None


def test_forged_and_out_of_turn_steps_signed_elsewhere_are_refused_by_every_node(
    tmp_path: Path, stack: ExitStack
) -> None:
    """The API refuses a wrong step before signing; this is the other half: a step
    signed anyway (a modified node) travels to every node, joins its author's log
    (it is log-valid) and is refused by every node's job view with its code."""
    customer, lab, rogue = (init(tmp_path, n) for n in ("customer", "lab", "rogue"))
    advertise_offline(lab, advert("Lab A", 52_530_000, 13_410_000, 250, 20))
    _, first = stack.enter_context(running_node(lab))
    boot = ("--bootstrap", first["listen"][0])
    customer_stack, rogue_stack = ExitStack(), ExitStack()
    customer_stack.enter_context(running_node(customer, *boot))
    rogue_stack.enter_context(running_node(rogue, *boot))
    stack.callback(customer_stack.close)
    stack.callback(rogue_stack.close)
    homes = [customer, lab, rogue]
    ids = {h: api(h, "GET", "/api/v1/status")["identity"] for h in homes}
    ok(rogue, "note", "a lab like any other")  # its log begins (key inception first)
    wait_until("the advert at the customer", lambda: log_size(customer, ids[lab]))

    deadline = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    job = ok(customer, "job", "offer", "--title", "A jig", "--sealed",
             "--size-mm", "40", "40", "10", "--volume-mm3", "9000", "--process", "3dp-fdm",
             "--material", "PLA", "--deadline", deadline, "--at", BERLIN,
             "--radius-km", "50")["entry_id"]  # fmt: skip
    wait_until("the offer at the lab", lambda: open_near(lab, job))
    ready = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    bid = ok(lab, "job", "bid", job, "--price-minor", "4000", "--ready", ready)["entry_id"]
    wait_until("the bid at the customer", lambda: bids_on(customer, job))
    award = ok(customer, "job", "award", job, bid)["entry_id"]
    for home in homes:
        wait_until(f"the award at {home.name}", lambda h=home: in_state(h, job, "awarded"))

    step = {"job": id_from_text(job), "after": id_from_text(award)}
    rogue_stack.close()  # not a party: it starts production of someone else's job
    forged = sign_bypassing_the_api(rogue, "job.start", step)
    customer_stack.close()  # a party, out of turn: confirms what was never delivered
    early = sign_bypassing_the_api(customer, "job.confirm", step)
    stack.enter_context(running_node(rogue, *boot))
    stack.enter_context(running_node(customer, *boot))

    views = wait_until("both refused on every node", lambda: (
        v if (v := refused_everywhere(homes, job)) and len(v[0]["refused"]) == 2 else None
    ), timeout_s=120)  # fmt: skip
    codes = {(r["entry_id"], r["kind"], r["code"]) for r in views[0]["refused"]}
    assert codes == {
        (forged, "job.start", "job.not-party"),
        (early, "job.confirm", "job.out-of-turn"),
    }
    assert all(v["state"] == "awarded" and v["lab"] == ids[lab] for v in views)
    for home in homes:  # log-valid: each joined its author's log everywhere
        for entry, author in ((forged, rogue), (early, customer)):
            rows = api(home, "GET", f"/api/v1/ledger/entries?author={ids[author]}")["entries"]
            assert entry in {r["id"] for r in rows}
