"""My jobs in a real browser: a customer and two labs on real nodes take a job from the
offer to a refund, and a second one to a review, every step through the pages
(specs/0007 §3, README "Dashboard"). On the way, bad values in the forms are refused
beside their field before anything is sent, and a value only the node can judge comes
back as its typed error beside the field. Screenshots of each step go to the test's
tmp folder."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.browser.forms import refused_here
from tests.browser.test_dashboard import (  # noqa: F401 (browser: a fixture)
    ADVERT,
    browser,
    open_dashboard,
    publish_part,
    start_lab,
)
from tests.node_process import api, wait_until

pytestmark = pytest.mark.integration

TITLE = "Five brackets"


class Shots:
    def __init__(self, folder: Path) -> None:
        self.folder, self.count = folder, 0
        folder.mkdir()

    def __call__(self, page: Any, name: str) -> None:
        self.count += 1
        page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}.png"), full_page=True)


def state_on(lab: dict[str, Any], job: str) -> str:
    return str(api(lab["home"], "GET", f"/api/v1/jobs/{job}")["state"])


def held(lab: dict[str, Any], job: str) -> bool:
    return any(j["id"] == job for j in api(lab["home"], "GET", "/api/v1/jobs")["jobs"])


def open_job(page: Any, title: str) -> None:
    page.wait_for_selector(f"#my-jobs button:text('{title}')", timeout=60_000)
    page.click(f"#my-jobs button:text('{title}')")
    page.wait_for_selector("#my-job h2")


def step(page: Any, action: str, state: str) -> None:
    page.click(f"#my-job-actions form[data-action={action}] button[type=submit]")
    page.wait_for_selector(f"#my-job-state[data-state='{state}']")


def offer_in_page(page: Any, title: str, design: str) -> str:
    page.fill("#offer-title", title)
    page.select_option("#offer-design", design)
    page.fill("#offer-material", "PETG")
    page.fill("#offer-lat", "41.40")
    page.fill("#offer-lon", "2.19")
    page.click("#offer-form button[type=submit]")
    page.wait_for_selector("#offer-form [role=status]:has-text('Offered')")
    return str(page.locator("#offer-form [role=status] code").text_content())


def bid_in_page(page: Any, title: str, price: str) -> None:
    page.click(f"#job-list button:text('{title}')", timeout=60_000)
    page.wait_for_selector(f"#job-detail h2:text('{title}')")
    page.fill("#bid-price", price)
    page.click("#bid-form button[type=submit]")
    page.wait_for_selector(f"#job-bids li:has-text('{price}')")


def test_a_job_from_offer_to_refund_and_another_to_review(
    tmp_path: Path,
    browser: Any,  # noqa: F811
) -> None:
    shot = Shots(tmp_path / "shots")
    with ExitStack() as stack:
        customer = start_lab(stack, tmp_path, "customer")
        boot = ("--bootstrap", customer["listen"][0])
        lab_a, lab_b = (start_lab(stack, tmp_path, n, *boot) for n in ("lab-a", "lab-b"))
        ids = {k: api(v["home"], "GET", "/api/v1/identity")["identity"]
               for k, v in (("a", lab_a), ("b", lab_b))}  # fmt: skip
        api(lab_a["home"], "POST", "/api/v1/capabilities", {"advert": ADVERT})
        api(lab_b["home"], "POST", "/api/v1/capabilities", {"advert": {**ADVERT, "name": "Lab B"}})
        design = publish_part(lab_a, tmp_path, "l-bracket-40x30x20.stl", "Bracket for jobs")
        wait_until("the adverts and design at the customer", lambda: (
            len(api(customer["home"], "GET", "/api/v1/capabilities")["adverts"]) == 2
            and api(customer["home"], "GET", "/api/v1/designs?q=bracket")["designs"]))  # fmt: skip

        # The offer, and two bids, in Jobs near me; bad values first (nothing is sent),
        # then a process only the node can judge (its typed error, beside the field).
        page = open_dashboard(browser, customer, "jobs")
        submit = "#offer-form button[type=submit]"
        page.fill("#offer-title", " ")
        assert refused_here(page, submit, "#offer-title") == "Required."
        page.fill("#offer-title", TITLE)
        assert "design" in refused_here(page, submit, "#offer-design")
        page.select_option("#offer-design", design)
        page.fill("#offer-lat", "41.40")
        page.fill("#offer-lon", "2.19")
        for where, value in (("#offer-quantity", "0"), ("#offer-lat", "91"),
                             ("#offer-radius", "30000"), ("#offer-deadline", "2001-01-01"),
                             ("#offer-budget", "12.345")):  # fmt: skip
            kept = page.input_value(where)
            page.fill(where, value)
            refused_here(page, submit, where)
            page.fill(where, kept)
        page.fill("#offer-budget", "40")
        page.fill("#offer-currency", "E1")
        assert "ISO 4217" in refused_here(page, submit, "#offer-currency")
        page.fill("#offer-budget", "")
        page.fill("#offer-process", "laser-welding")
        page.click(submit)
        page.wait_for_selector("#offer-process[aria-invalid=true]")
        assert "misuse.bad-job" in page.inner_text("#offer-process ~ .field-error")
        shot(page, "customer-offer-refused-beside-the-fields")
        page.fill("#offer-process", "3dp-fdm")
        job = offer_in_page(page, TITLE, design)
        shot(page, "customer-offered")
        labs = {}
        for key, lab, price in (("a", lab_a, "42.50"), ("b", lab_b, "40.00")):
            labs[key] = open_dashboard(browser, lab, "jobs")
            if key == "a":  # a price with a cent too many, and a currency that is none
                labs[key].click(f"#job-list button:text('{TITLE}')", timeout=60_000)
                labs[key].fill("#bid-price", "42.505")
                assert "2 decimals" in refused_here(labs[key], "#bid-form button", "#bid-price")
                labs[key].fill("#bid-currency", "XX")
                refused_here(labs[key], "#bid-form button", "#bid-currency")
                labs[key].fill("#bid-currency", "EUR")
                labs[key].fill("#bid-price", price)
                labs[key].click("#bid-form button[type=submit]")
                labs[key].wait_for_selector(f"#job-bids li:has-text('{price}')")
            else:  # where to look: a latitude off the globe is refused beside it
                kept = labs[key].input_value("#near-lat")
                labs[key].fill("#near-lat", "100")
                refused_here(labs[key], "#near-form button[type=submit]", "#near-lat")
                labs[key].fill("#near-lat", kept)
                bid_in_page(labs[key], TITLE, price)
        shot(labs["a"], "lab-a-bids")
        shot(labs["b"], "lab-b-bids")

        # The customer counters B's bid in My jobs; B sees it and answers with a new bid.
        page = open_dashboard(browser, customer, "mine")
        open_job(page, TITLE)
        bid_b = f"#my-job-bids li[data-lab='{ids['b']}']"
        page.wait_for_selector(bid_b, timeout=60_000)
        page.fill(f"{bid_b} input.counter-price", "thirty")
        counter = f"{bid_b} .counter-form button[type=submit]"
        refused_here(page, counter, f"{bid_b} input.counter-price")
        page.fill(f"{bid_b} input.counter-price", "30.00")
        page.fill(f"{bid_b} input.counter-note", "Can you do 30?")
        page.click(counter)
        page.wait_for_selector(f"{bid_b} li.counter:has-text('Can you do 30?')")
        shot(page, "customer-counters-b")
        page_b = open_dashboard(browser, lab_b, "mine")
        open_job(page_b, TITLE)
        page_b.wait_for_selector(f"{bid_b} li.counter", timeout=60_000)
        shot(page_b, "lab-b-sees-the-counter")
        page_b.click(f"{bid_b} button[data-action=accept-counter]")
        page_b.wait_for_selector(f"{bid_b}:has-text('30.00'):has-text('active')")
        shot(page_b, "lab-b-rebids")

        # Before the award the customer writes to lab B alone; B answers (sealed, 0007 §2.5).
        page.select_option("#message-to", ids["b"])
        assert (
            refused_here(page, "#message-form button[type=submit]", "#message-text") == "Required."
        )
        page.fill("#message-text", "Can you print it in black?")
        page.click("#message-form button[type=submit]")
        page.wait_for_selector("#my-job-thread li.message:has-text('in black?')")
        page_b.wait_for_selector("#my-job-thread li.message:has-text('in black?')", timeout=60_000)
        page_b.fill("#message-text", "Yes, black PETG is in stock.")
        page_b.click("#message-form button[type=submit]")
        page.wait_for_selector("#my-job-thread li.message:has-text('in stock')", timeout=60_000)
        shot(page, "customer-reads-b-answer")

        # The customer awards A's bid instead and seals a file to A.
        page.wait_for_selector(f"{bid_b}:has-text('30.00'):has-text('active')", timeout=60_000)
        page.click(f"#my-job-bids li[data-lab='{ids['a']}'] button[data-action=award]")
        page.wait_for_selector("#my-job-state[data-state='awarded']")
        assert page.locator("#my-job-timeline li[data-kind='job.counter']").count() == 1
        wait_until("the award at lab A", lambda: state_on(lab_a, job) == "awarded")
        secret = tmp_path / "jig.step"
        secret.write_bytes(b"ISO-10303-21; the customer's own jig\n" * 50)
        page.set_input_files("#seal-files", str(secret))
        page.click("#seal-form button[type=submit]")
        page.wait_for_selector("#my-job-files li:has-text('sealed file')")
        shot(page, "customer-awarded-and-sealed")

        # Lab A opens the file, starts, ships with a tracking number and delivers.
        page_a = open_dashboard(browser, lab_a, "mine")
        open_job(page_a, TITLE)
        page_a.wait_for_selector("#my-job-files button[data-action=open-file]", timeout=60_000)
        with page_a.expect_download() as got:
            page_a.click("#my-job-files button[data-action=open-file]")
        assert Path(got.value.path()).read_bytes() == secret.read_bytes()
        shot(page_a, "lab-a-opened-the-file")
        step(page_a, "start", "in-production")
        shot(page_a, "lab-a-started")
        ship = "#my-job-actions form[data-action=ship] button[type=submit]"
        assert refused_here(page_a, ship, "#ship-tracking") == "Required."
        page_a.fill("#ship-tracking", "x" * 201)  # typed past the field's maxlength: cut to 200
        assert len(page_a.input_value("#ship-tracking")) == 200
        page_a.fill("#ship-tracking", "PARCEL-123")
        step(page_a, "ship", "shipped")
        shot(page_a, "lab-a-shipped")
        step(page_a, "deliver", "delivered")
        assert "tracking PARCEL-123" in page_a.inner_text("#my-job-timeline")
        shot(page_a, "lab-a-delivered")

        # The customer disputes with evidence; A reads it and refunds.
        page.wait_for_selector("#my-job-state[data-state='delivered']", timeout=60_000)
        dispute = "#my-job-actions form[data-action=dispute] button[type=submit]"
        assert refused_here(page, dispute, "#dispute-reason") == "Required."
        photo = tmp_path / "warped.txt"
        photo.write_text("the flange is warped by 2 mm\n")
        page.fill("#dispute-reason", "Two parts are warped")
        page.set_input_files("#dispute-evidence", str(photo))
        step(page, "dispute", "disputed")
        shot(page, "customer-disputed")
        page_a.wait_for_selector("#my-job-state[data-state='disputed']", timeout=60_000)
        evidence = "#my-job-files li:has-text('evidence') button"
        with page_a.expect_download() as got:
            page_a.click(evidence)
        assert Path(got.value.path()).read_text() == photo.read_text()
        step(page_a, "refund", "refunded")
        shot(page_a, "lab-a-refunded")

        # A second job, every step in the pages too: offered, bid on by lab A, awarded,
        # started, shipped, delivered, then confirmed and reviewed by the customer.
        page = open_dashboard(browser, customer, "jobs")
        second = offer_in_page(page, "Two brackets", design)
        shot(page, "customer-offers-a-second-job")
        jobs_a = open_dashboard(browser, lab_a, "jobs")
        bid_in_page(jobs_a, "Two brackets", "20.00")
        page = open_dashboard(browser, customer, "mine")
        open_job(page, "Two brackets")
        bid_a = f"#my-job-bids li[data-lab='{ids['a']}'] button[data-action=award]"
        page.click(bid_a, timeout=60_000)
        page.wait_for_selector("#my-job-state[data-state='awarded']")
        shot(page, "customer-awards-the-second-job")
        page_a = open_dashboard(browser, lab_a, "mine")
        open_job(page_a, "Two brackets")
        page_a.wait_for_selector("#my-job-state[data-state='awarded']", timeout=60_000)
        step(page_a, "start", "in-production")
        page_a.fill("#ship-tracking", "PARCEL-456")
        step(page_a, "ship", "shipped")
        step(page_a, "deliver", "delivered")
        shot(page_a, "lab-a-delivers-the-second-job")
        page.wait_for_selector("#my-job-state[data-state='delivered']", timeout=60_000)
        step(page, "confirm", "confirmed")
        review_button = "#my-job-actions form[data-action=review] button[type=submit]"
        assert "score" in refused_here(page, review_button, "#review-score")
        page.select_option("#review-score", "4")
        page.fill("#review-text", "Good parts, a day late")
        page.click("#my-job-actions form[data-action=review] button[type=submit]")
        page.wait_for_selector("#confirm-dialog[open]:has-text('4 / 5')")
        shot(page, "customer-review-confirmation")
        page.click("#confirm-dialog button[data-confirm=no]")  # thought better of it
        assert state_on(customer, second) == "confirmed"
        page.click("#my-job-actions form[data-action=review] button[type=submit]")
        page.click("#confirm-dialog button[data-confirm=yes]")
        page.wait_for_selector("#my-job-state[data-state='reviewed']")
        review = api(customer["home"], "GET", f"/api/v1/jobs/{second}")["steps"][-1]["body"]
        assert (review["score"], review["text"]) == (4, "Good parts, a day late")
        shot(page, "customer-reviewed")
        page.click(f"#my-jobs button:text('{TITLE}')")
        page.wait_for_selector("#my-job-state[data-state='refunded']")
        shot(page, "customer-my-jobs")
        pages = [page, page_a, page_b, jobs_a, *labs.values()]
        assert [e for p in pages for e in p.errors] == []
        assert page.locator(".error").count() == 0
