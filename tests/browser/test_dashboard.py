"""The dashboard in a real headless browser (Debian's chromium, driven by Playwright)
against real `fabnode run` processes; screenshots go to test-artifacts/dashboard/.

Also the API the dashboard stands on: the event stream, uploads and their limit."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from node.api.guard import MAX_REQUEST_BODY_BYTES
from node.api.live import MAX_UPLOAD_FILE_BYTES
from node.demo.federation import demo_charter_toml
from node.demo.parts import PARTS_FOLDER
from node.store.home import NodeHome
from protocol.governance import parse_charter_toml
from tests.browser.forms import refused_here
from tests.cli_helpers import fabnode
from tests.node_process import api, running_node, wait_until
from tests.paths import ROOT

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 375, "height": 740}


def start_lab(stack: ExitStack, root: Path, name: str, *extra: str) -> dict[str, Any]:
    home = root / name
    assert fabnode("init", home=home)[0] == 0
    _, ready = stack.enter_context(running_node(home, *extra))
    token = (home / "api.token").read_text().strip()
    return {"home": home, "url": ready["api"], "token": token, "listen": ready["listen"]}


@contextmanager
def chromium_contexts() -> Iterator[Callable[..., Any]]:
    """Open browser contexts with `open_context(locale=, args=, timeout_ms=)`, each on a
    fresh chromium profile; at the end, none may have fetched from outside the node.
    Skipped only if chromium cannot be had."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is missing (.ci/run installs it: apt install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []
    with ExitStack() as stack:
        p = stack.enter_context(sync_api.sync_playwright())

        def open_context(
            locale: str = "en-US",  # money reads "€42.50" (the page formats in its locale)
            args: list[str] = CHROMIUM_ARGS,
            timeout_ms: int = 30_000,
        ) -> Any:
            profile = stack.enter_context(tempfile.TemporaryDirectory())
            context = p.chromium.launch_persistent_context(
                profile, executable_path=str(CHROMIUM), args=args, headless=True, locale=locale
            )
            stack.callback(context.close)
            context.set_default_timeout(timeout_ms)
            context.on("request", lambda r: outside.append(r.url) if _outside(r.url) else None)
            return context

        yield open_context
    assert not outside, f"the dashboard fetched from outside the node: {outside}"


@pytest.fixture
def browser() -> Iterator[Any]:
    """A fresh chromium profile per test, in English."""
    with chromium_contexts() as open_context:
        yield open_context()


def _outside(url: str) -> bool:
    return not url.startswith(("http://127.0.0.1:", "data:", "blob:", "about:"))


def open_dashboard(context: Any, lab: dict[str, Any], page_name: str = "designs") -> Any:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{lab['url']}/#token={lab['token']}")
    page.wait_for_selector("#live:text('live')")
    if page_name != "designs":
        page.click(f"nav a[data-page={page_name}]")
    page.wait_for_selector(f"#page-{page_name}")
    page.errors = errors
    return page


def test_publish_a_design_through_the_page_and_see_it_on_another_node(
    tmp_path: Path, browser: Any
) -> None:
    with ExitStack() as stack:
        a = start_lab(stack, tmp_path, "lab-a")
        b = start_lab(stack, tmp_path, "lab-b", "--bootstrap", a["listen"][0])
        page = open_dashboard(browser, a)
        assert "token=" not in page.url  # the token leaves the address bar at once
        publish = "#publish-form button[type=submit]"
        assert refused_here(page, publish, "#pub-name") == "Required."  # nothing uploaded
        page.fill("#pub-name", "Browser bracket")
        page.fill("#pub-licensor", "Lab A")
        page.fill("#pub-parent", "not-a-design")
        assert "design id" in refused_here(page, publish, "#pub-parent")
        page.fill("#pub-parent", "")
        page.fill("#pub-licence", "CERN-OHL-S-2.0")
        page.fill("#pub-licensor", "Lab A")
        page.fill("#pub-function", "An L bracket published from the dashboard.")
        page.set_input_files("#pub-files", str(PARTS_FOLDER / "l-bracket-40x30x20.stl"))
        page.click("#publish-form button[type=submit]")
        page.wait_for_selector("#publish-form [role=status]:has-text('Published')")
        design_id = page.locator("#publish-form [role=status] code").text_content()
        page.wait_for_selector("#design-results button:text('Browser bracket')")
        page.click("#design-results button:text('Browser bracket')")
        readiness = page.locator("#design-readiness")  # measured on the publishing node
        readiness.wait_for()
        assert "thinnest wall ≈ 4.00 mm" in (readiness.text_content() or "")
        assert "Ready to print: no warning." in (readiness.text_content() or "")

        def on_b() -> Any:
            found = api(b["home"], "GET", "/api/v1/designs?q=bracket")["designs"]
            return [d for d in found if d["id"] == design_id]

        wait_until("the design on lab B", on_b)
        page_b = open_dashboard(browser, b)
        page_b.click("#design-results button:text('Browser bracket')")
        page_b.wait_for_selector("#design-detail table")
        detail = page_b.locator("#design-detail").text_content() or ""
        shown = api(b["home"], "GET", f"/api/v1/designs/{design_id}")["body"]["files"][0]
        assert shown["sha256"] in detail and "l-bracket-40x30x20.stl" in detail
        page_b.wait_for_selector("#design-detail .badge.strong:has-text('strong copyleft')")
        assert page_b.locator("#design-detail svg[role=img]").count() == 1
        # b does not hold the mesh: it shows what the author published with the design.
        readiness_b = page_b.locator("#design-readiness").inner_text()
        assert "(as its author measured it)" in readiness_b
        assert "thinnest wall ≈ 4.00 mm" in readiness_b
        page_b.screenshot(path=str(ARTIFACTS / "designs-on-lab-b.png"), full_page=True)

        node_page = open_dashboard(browser, b, "node")
        node_page.wait_for_selector("#peers")
        assert a["listen"][0].split("/p2p/")[1][:16] in (node_page.locator("#peers").inner_text())
        node_page.screenshot(path=str(ARTIFACTS / "node-lab-b.png"), full_page=True)
        assert page.errors == [] and page_b.errors == [] and node_page.errors == []


def test_phone_width_and_keyboard_only(tmp_path: Path, browser: Any) -> None:
    with ExitStack() as stack:
        lab = start_lab(stack, tmp_path, "lab")
        page = open_dashboard(browser, lab)
        page.set_viewport_size(PHONE)
        for name in ("designs", "labs", "jobs", "mine", "governance", "node"):
            page.goto(f"{lab['url']}/#/{name}")
            page.wait_for_selector(f"#page-{name} h1")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{name} page is {width}px wide at phone width"
            page.screenshot(path=str(ARTIFACTS / f"phone-{name}.png"), full_page=True)

        page.goto(f"{lab['url']}/#/designs")
        page.reload()  # focus starts at the top of a freshly loaded document
        page.wait_for_selector("#page-designs h1")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
        page.focus("nav a[data-page=designs]")
        for _ in range(5):  # labs, jobs near me, my jobs, governance, node
            page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.dataset.page") == "node"
        page.keyboard.press("Enter")
        page.wait_for_selector("#page-node #log-heads")
        assert page.evaluate("document.activeElement.id") == "main"
        page.locator("#verify").focus()
        page.keyboard.press("Enter")
        page.wait_for_selector("#page-node [role=status]:has-text('Ledger verified')")
        page.screenshot(path=str(ARTIFACTS / "keyboard-node.png"), full_page=True)
        assert page.errors == []


ADVERT = {
    "name": "Test Lab A",
    "location": {"lat": "41.3969", "lon": "2.1943"},
    "currency": "EUR",
    "lead_time_days": 3,
    "availability": "open",
    "machines": [
        {
            "process": "3dp-fdm",
            "make": "Prusa",
            "model": "MK4",
            "build_volume_mm": [250, 210, 220],
            "materials": ["PETG", "PLA"],
            "tolerance": "m",
            "throughput_mm3_per_hour": 12000,
            "price": {"setup_fee_minor": 300, "per_cm3_minor": 8, "per_hour_minor": 250},
            "slicer": {
                "layer_height_um": 200,
                "infill_percent": 20,
                "perimeters": 2,
                "supports": False,
                "nozzle_um": 400,
                "filament_diameter_um": 1750,
                "density_mg_per_cm3": {"PETG": 1270, "PLA": 1240},
            },
        }
    ],
}
#: How the customer's node quotes: by slicer where PrusaSlicer is installed (CI).
QUOTE_METHOD = "slicer" if shutil.which("prusa-slicer") else "volume"


def publish_part(lab: dict[str, Any], root: Path, part: str, name: str) -> str:
    folder = root / part.removesuffix(".stl")
    folder.mkdir()
    (folder / part).write_bytes((PARTS_FOLDER / part).read_bytes())
    (folder / "okh.toml").write_text(
        f'name = "{name}"\nlicense = "CERN-OHL-S-2.0"\nlicensor = "Lab A"\nsource = "{part}"\n'
    )
    out = api(lab["home"], "POST", "/api/v1/designs", {"path": str(folder)})
    return str(out["design_id"])


def test_offer_bid_and_award_a_job_through_the_pages(tmp_path: Path, browser: Any) -> None:
    with ExitStack() as stack:
        maker = start_lab(stack, tmp_path, "maker")
        customer = start_lab(stack, tmp_path, "customer", "--bootstrap", maker["listen"][0])
        api(maker["home"], "POST", "/api/v1/capabilities", {"advert": ADVERT})
        design = publish_part(maker, tmp_path, "l-bracket-40x30x20.stl", "Bracket for jobs")
        wait_until(
            "the advert and design on the customer's node",
            lambda: (
                api(customer["home"], "GET", "/api/v1/capabilities")["adverts"]
                and api(customer["home"], "GET", "/api/v1/designs?q=bracket")["designs"]
            ),
        )
        page = open_dashboard(browser, customer, "jobs")
        page.wait_for_selector("#offer-form")
        page.fill("#offer-title", "Five brackets")
        page.select_option("#offer-design", design)
        page.fill("#offer-process", "3dp-fdm")
        page.fill("#offer-material", "PETG")
        page.fill("#offer-quantity", "5")
        page.fill("#offer-lat", "41.40")
        page.fill("#offer-lon", "2.19")
        page.fill("#offer-radius", "50")
        page.click("#offer-form button[type=submit]")
        page.wait_for_selector("#offer-form [role=status]:has-text('Offered')")
        page.wait_for_selector("#job-candidates td:text('Test Lab A')")
        # The customer's node fetched the bracket's mesh and sliced it with the lab's
        # settings: the quote says how it was computed.
        basis = page.locator(f"#job-candidates .quote-basis[data-method={QUOTE_METHOD}]")
        assert f"by {QUOTE_METHOD}" in (basis.text_content() or "")
        job_id = page.locator("#offer-form [role=status] code").text_content()
        page.screenshot(path=str(ARTIFACTS / "job-offered.png"), full_page=True)

        lab_page = open_dashboard(browser, maker, "jobs")
        lab_page.wait_for_selector("#job-list button:text('Five brackets')", timeout=60_000)
        lab_page.click("#job-list button:text('Five brackets')")
        lab_page.fill("#bid-price", "42.50")
        lab_page.click("#bid-form button[type=submit]")
        lab_page.wait_for_selector("#job-bids li:has-text('€42.50')")

        award = "#job-bids button[data-action=award]"
        page.wait_for_selector(award, timeout=60_000)  # the bid arrives live
        maker_id = str(fabnode("id", home=maker["home"])[1]["identity"])
        # The lab's name, not its id; the id on hover (title) and behind a copy button.
        shown_lab = page.locator(f"#job-bids .who .name[title='{maker_id}']")
        assert shown_lab.text_content() == "Test Lab A"
        page.wait_for_selector("#job-bids li:has-text('€42.50')")
        page.click(award)
        page.wait_for_selector("#job-state[data-state='awarded']")
        shown = api(maker["home"], "GET", f"/api/v1/jobs/{job_id}")
        wait_until("the award on the lab's node", lambda: _job_state(maker, job_id) == "awarded")
        assert shown["customer"] != shown["bids"][0]["lab"]
        page.screenshot(path=str(ARTIFACTS / "job-awarded.png"), full_page=True)
        labs_page = open_dashboard(browser, customer, "labs")
        labs_page.wait_for_selector("#lab-map circle.lab")
        labs_page.click("#lab-list button:text('Test Lab A')")
        labs_page.wait_for_selector("#lab-detail .reputation")
        labs_page.wait_for_selector("#contributions li:has-text('witness cosignature')")
        assert re.search(r"\d+ designs? published", labs_page.inner_text("#contributions"))
        labs_page.screenshot(path=str(ARTIFACTS / "labs.png"), full_page=True)
        assert page.errors == [] and lab_page.errors == [] and labs_page.errors == []


def _job_state(lab: dict[str, Any], job_id: str | None) -> str:
    return str(api(lab["home"], "GET", f"/api/v1/jobs/{job_id}")["state"])


def start_federation(stack: ExitStack, root: Path, names: list[str]) -> list[dict[str, Any]]:
    """Founders of one test federation (the demo's charter), each a real node."""
    homes = [root / name for name in names]
    ids = [NodeHome(home).create_identity().id for home in homes]
    charter = parse_charter_toml(demo_charter_toml(ids))
    for home in homes:
        NodeHome(home).adopt_charter(charter, [])
    labs: list[dict[str, Any]] = []
    for home in homes:
        extra = ["--bootstrap", labs[0]["listen"][0]] if labs else []
        _, ready = stack.enter_context(running_node(home, *extra))
        token = (home / "api.token").read_text().strip()
        labs.append({"home": home, "url": ready["api"], "token": token, "listen": ready["listen"]})
    return labs


def test_vote_through_the_page_and_see_the_tally_elsewhere(tmp_path: Path, browser: Any) -> None:
    with ExitStack() as stack:
        a, b, c = start_federation(stack, tmp_path, ["lab-a", "lab-b", "lab-c"])
        change = {
            "action": "rules.change",
            "title": "Longer job offers",
            "changes": {"job_offer_ttl_s": 1_209_600},
        }
        made = api(a["home"], "POST", "/api/v1/governance/proposals", change)
        proposal = made["proposal"]

        def voting_on_b() -> bool:
            found = api(b["home"], "GET", "/api/v1/governance/proposals")["proposals"]
            return any(p["id"] == proposal and p["tally"]["outcome"] == "voting" for p in found)

        wait_until("the proposal open on lab B", voting_on_b, timeout_s=120)
        page = open_dashboard(browser, b, "governance")
        card = f"li.proposal[data-proposal='{proposal}']"
        page.wait_for_selector(card)
        page.locator(f"{card} button[data-choice=yes]").focus()
        page.keyboard.press("Enter")
        # The page says so until its node's tally shows the vote, then shows it there.
        page.wait_for_selector(
            f"{card} [role=status]:text('Voted yes.'), {card} p:text('Your vote: yes')"
        )

        def counted_on(lab: dict[str, Any]) -> int:
            tally = api(lab["home"], "GET", f"/api/v1/governance/proposals/{proposal}/tally")
            return int(tally.get("counts", {}).get("yes", 0))

        wait_until("B's vote counted on lab C", lambda: counted_on(c) == 1, timeout_s=120)
        page_c = open_dashboard(browser, c, "governance")
        page_c.wait_for_selector(f"{card} .tally-text:has-text('yes 1')", timeout=120_000)
        page_c.wait_for_selector("#rules-history li")
        page_c.screenshot(path=str(ARTIFACTS / "governance.png"), full_page=True)
        assert page.errors == [] and page_c.errors == []


def test_the_node_page_raises_a_fork_alert(tmp_path: Path, browser: Any) -> None:
    with ExitStack() as stack:
        hub = start_lab(stack, tmp_path, "hub")
        twin = tmp_path / "twin-a"
        assert fabnode("init", home=twin)[0] == 0
        shutil.copytree(twin, tmp_path / "twin-b")  # one identity, two machines
        forker = str(fabnode("id", home=twin)[1]["identity"])
        with running_node(tmp_path / "twin-b"):  # b writes its history offline first
            two = api(tmp_path / "twin-b", "POST", "/api/v1/notes", {"text": "history two"})
        stack.enter_context(running_node(twin, "--bootstrap", hub["listen"][0]))
        # The forker is a lab: a's advert (its seq 2) reaches the hub before b does.
        api(tmp_path / "twin-a", "POST", "/api/v1/capabilities", {"advert": ADVERT})
        wait_until(
            "the twin's advert on the hub",
            lambda: api(hub["home"], "GET", "/api/v1/capabilities")["adverts"],
        )
        page = open_dashboard(browser, hub, "node")
        page.wait_for_selector("#log-heads")
        # b comes online: its seq 2 (a note) is not the advert the hub holds at seq 2
        assert two["seq"] == 2
        stack.enter_context(running_node(tmp_path / "twin-b", "--bootstrap", hub["listen"][0]))
        page.wait_for_selector(f"#fork-alerts[role=alert]:has-text('{forker}')", timeout=90_000)
        page.wait_for_selector("#log-heads .badge.bad:text('frozen: forked')")
        assert (
            "1 author signed two different histories" in page.locator("#fork-alerts").inner_text()
        )
        page.screenshot(path=str(ARTIFACTS / "fork-alert.png"), full_page=True)
        # The Labs page leaves the frozen lab out of the directory and says why.
        labs = open_dashboard(browser, hub, "labs")
        frozen = labs.wait_for_selector("#frozen-labs li", timeout=60_000)
        assert ADVERT["name"] in (frozen.text_content() or "")
        assert "[object" not in labs.locator("main").inner_text()
        assert labs.locator("#lab-list li").count() == 0
        assert page.errors == [] and labs.errors == []


def test_rotate_and_revoke_the_signing_key_from_the_node_page(tmp_path: Path, browser: Any) -> None:
    with ExitStack() as stack:
        lab = start_lab(stack, tmp_path, "lab")
        usb = tmp_path / "usb"
        usb.mkdir()
        recovery = shutil.move(lab["home"] / "keys" / "recovery.key", usb / "recovery.key")
        api(lab["home"], "POST", "/api/v1/notes", {"text": "seq 2, ours"})
        page = open_dashboard(browser, lab, "node")
        page.wait_for_selector("#key-history tr[data-kind='identity.inception']")
        assert page.locator("#key-warnings").count() == 0  # the recovery key is offline
        before = page.locator("#key-in-force").get_attribute("title")
        page.click("#rotate-key")
        assert "permanent" in page.locator("#rotate-key-q").inner_text()
        page.click("#rotate-key-yes")
        page.wait_for_selector("#keys-out [role=status]:has-text('Rotated at seq 3')")
        page.wait_for_selector("#key-history tr[data-kind='key.rotate']")
        page.wait_for_selector("#log-heads td:text-is('3')")  # the page around it too
        after = page.locator("#key-in-force").get_attribute("title")
        assert after != before and after == api(lab["home"], "GET", "/api/v1/keys")["signing_key"]
        page.screenshot(path=str(ARTIFACTS / "keys-rotated.png"), full_page=True)

        for text in ("seq 4, the thief's", "seq 5, the thief's"):
            api(lab["home"], "POST", "/api/v1/notes", {"text": text})
        page.click("#revoke summary")
        page.fill("#revoke-from", "4")
        refused_here(page, "#revoke-form button[type=submit]", "#revoke-file")  # no key file
        page.set_input_files("#revoke-file", str(recovery))
        page.fill("#revoke-from", "1")
        assert "from 2" in refused_here(page, "#revoke-form button[type=submit]", "#revoke-from")
        page.fill("#revoke-from", "4")
        page.click("#revoke-form button[type=submit]")
        question = page.locator("#revoke-key-q").inner_text()
        assert "seq 4 to 5" in question and "void" in question and "seq 6" in question
        page.screenshot(path=str(ARTIFACTS / "keys-revoke-confirm.png"), full_page=True)
        page.click("#revoke-key-yes")
        page.wait_for_selector("#keys-out [role=status]:has-text('Revoked at seq 6')")
        page.wait_for_selector("#key-history tr[data-kind='key.revoke']:has-text('voids seqs 4')")
        assert page.locator("#revoke-file").input_value() == ""  # the key is not kept
        page.screenshot(path=str(ARTIFACTS / "keys-revoked.png"), full_page=True)
        rows = api(lab["home"], "GET", "/api/v1/ledger/entries")["entries"]
        assert [r["revoked"] for r in rows] == [False, False, False, True, True, False]
        assert not (lab["home"] / "keys" / "recovery.key").exists()
        assert page.errors == []


# -- the API under the dashboard ---------------------------------------------------------


def request(lab: dict[str, Any], method: str, path: str, data: bytes | None = None) -> Any:
    req = urllib.request.Request(lab["url"] + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {lab['token']}")
    return req


def test_event_stream_carries_new_entries_and_needs_the_token(tmp_path: Path) -> None:
    with ExitStack() as stack:
        lab = start_lab(stack, tmp_path, "lab")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(lab["url"] + "/api/v1/events", timeout=10)
        assert refused.value.code == 401
        refused.value.close()
        status, shown = fabnode("dashboard", home=lab["home"])
        assert status == 0 and shown["dashboard"] == f"{lab['url']}/#token={lab['token']}"
        with urllib.request.urlopen(request(lab, "GET", "/api/v1/events"), timeout=30) as stream:
            assert stream.headers["Content-Type"].startswith("text/event-stream")
            wait_until("a subscriber", lambda: _subscribers(lab) == 1)
            note = api(lab["home"], "POST", "/api/v1/notes", {"text": "live"})
            event = _next_event(stream, "entries")
        assert [e["id"] for e in event["entries"]][-1] == note["entry_id"]
        assert event["entries"][-1]["body"] == {"text": "live"}


def test_sync_and_verification_report_progress_on_the_stream(tmp_path: Path) -> None:
    with ExitStack() as stack:
        a = start_lab(stack, tmp_path, "lab-a")
        b = start_lab(stack, tmp_path, "lab-b", "--bootstrap", a["listen"][0])
        wait_until("the labs connected", lambda: api(b["home"], "GET", "/api/v1/peers")["peers"])
        with urllib.request.urlopen(request(b, "GET", "/api/v1/events"), timeout=60) as stream:
            wait_until("a subscriber", lambda: _subscribers(b) == 1)
            texts = [f"note {i}" for i in range(300)]  # announced by checkpoint: B syncs
            api(a["home"], "POST", "/api/v1/notes/batch", {"texts": texts})
            synced = _next_event(stream, "progress", lambda e: e["done"] == e["total"])
            assert synced["operation"].startswith("sync with ") and synced["total"] >= 300
            api(b["home"], "POST", "/api/v1/ledger/verify")
            verified = _next_event(stream, "progress", lambda e: e["operation"] == "verify")
            while verified["done"] < verified["total"]:
                verified = _next_event(stream, "progress", lambda e: e["operation"] == "verify")
            okh = tmp_path / "okh"
            okh.mkdir()
            for i in range(150):  # read in chunks: progress between them
                (okh / f"okh-part-{i}.toml").write_text(
                    f'name = "Part {i}"\nlicense = "MIT"\nlicensor = "Lab"\n'
                )
            api(b["home"], "POST", "/api/v1/designs/import-okh", {"paths": [str(okh)]})
            imported = _next_event(stream, "progress", lambda e: e["operation"] == "import")
            assert imported == {"operation": "import", "done": 100, "total": 150}
        assert verified["total"] >= 300


def _subscribers(lab: dict[str, Any]) -> int:
    return int(api(lab["home"], "GET", "/api/v1/sync")["events"]["subscribers"])


def _next_event(
    stream: Any, name: str, wanted: Callable[[dict[str, Any]], bool] = lambda _: True
) -> dict[str, Any]:
    """The next event called `name` whose data is `wanted`."""
    current = None
    for raw in stream:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            current = line[len("event: ") :]
        elif line.startswith("data: ") and current == name:
            data: dict[str, Any] = json.loads(line[len("data: ") :])
            if wanted(data):
                return data
    raise AssertionError(f"stream ended before a {name} event")


def test_uploads_are_limited_and_checked(tmp_path: Path) -> None:
    with ExitStack() as stack:
        lab = start_lab(stack, tmp_path, "lab")
        upload = api(lab["home"], "POST", "/api/v1/uploads")["upload_id"]
        too_big = request(lab, "PUT", f"/api/v1/uploads/{upload}/files/big.stl", b"")
        too_big.add_header("Content-Length", str(MAX_UPLOAD_FILE_BYTES + 1))
        assert _error_code(too_big) == "decode.too-large"
        sneaky = request(lab, "PUT", f"/api/v1/uploads/{upload}/files/..%2Fapi.token", b"x")
        assert _error_code(sneaky) in {"misuse.bad-file-name", "http.404"}
        unknown = request(lab, "PUT", "/api/v1/uploads/" + "0" * 32 + "/files/a.stl", b"x")
        assert _error_code(unknown) == "misuse.unknown-upload"
        cube = (PARTS_FOLDER / "calibration-cube-20mm.stl").read_bytes()
        with urllib.request.urlopen(
            request(lab, "PUT", f"/api/v1/uploads/{upload}/files/cube.stl", cube), timeout=30
        ) as done:
            assert json.loads(done.read())["size"] == len(cube)
        form = {"name": "Cube", "licence": "MIT", "licensor": "Lab", "function": "calibration"}
        published = api(lab["home"], "POST", f"/api/v1/uploads/{upload}/publish", form)
        assert [f["path"] for f in published["files"]] == ["cube.stl"]
        assert not any((lab["home"] / "uploads").iterdir())  # staging removed
        # A file route streams its body to disk under its own limit: a file larger than
        # what the API's front door buffers for other routes still goes through.
        other = api(lab["home"], "POST", "/api/v1/uploads")["upload_id"]
        large = b"\0" * (MAX_REQUEST_BODY_BYTES + 1024)
        put = request(lab, "PUT", f"/api/v1/uploads/{other}/files/large.bin", large)
        with urllib.request.urlopen(put, timeout=120) as done:
            assert json.loads(done.read())["size"] == len(large)
        spec = api(lab["home"], "GET", "/openapi.json")
        assert "/api/v1/events" in spec["paths"] and "/api/v1/peers" in spec["paths"]


def _error_code(req: urllib.request.Request) -> str:
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=30)
    code = str(json.loads(err.value.read())["error"]["code"])
    err.value.close()
    return code
