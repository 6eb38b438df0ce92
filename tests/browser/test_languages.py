"""The dashboard in the reader's language (README "Languages"), in a real browser.

A lab with an advert and a design is read by a browser set to Spanish (es-ES): every
main page, a design opened, a job offered through the Spanish form and opened under
My jobs; on each, the visible texts of the navigation, labels, buttons, headings,
summaries and legends must not be the English text of any key whose Spanish differs
(the English catalog's templates, placeholders included, matched whole). Then a
browser in English chooses Spanish in the header: the page says so at once and after
a reload. Last, the page laid out right to left (dir="rtl") once, for its screenshot.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_dashboard import (
    ADVERT,
    chromium_contexts,
    publish_part,
    start_lab,
)
from tests.node_process import api
from tests.paths import ROOT

pytestmark = pytest.mark.integration

ARTIFACTS = ROOT / "test-artifacts" / "languages"
CATALOGS = ROOT / "node" / "api" / "web" / "i18n"
# Each main page with what shows it is drawn (its data loaded, its forms built).
PAGES = {
    "designs": "#publish-form",
    "labs": "#lab-list li",
    "jobs": "#offer-form",
    "mine": "#my-jobs li",
    "governance": "#page-governance [role=status]",
    "node": "#key-in-force",
    "notifications": "#notify-settings",
}
# What a reader reads as the page's words: navigation, forms, buttons, headings.
SHOWN = "nav a, label, button, h1, h2, h3, summary, legend, th, option"

# The element's own visible text (its text nodes, not those of inputs or badges in it).
OWN_TEXTS = """(selector) => [...document.querySelectorAll(selector)]
  .filter((el) => el.offsetParent !== null || el.tagName === "OPTION")
  .map((el) => [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE)
    .map((n) => n.textContent).join(" ").replace(/\\s+/g, " ").trim())
  .filter((text) => /\\p{L}/u.test(text))"""


def _texts(value: object) -> list[str]:
    return list(value.values()) if isinstance(value, dict) else [str(value)]


def _template(text: str) -> re.Pattern[str]:
    parts = re.split(r"\{\w+\}", text)
    return re.compile(".+".join(re.escape(p) for p in parts), re.DOTALL)


def english_only() -> list[tuple[str, re.Pattern[str], list[re.Pattern[str]]]]:
    """(key, English template, Spanish templates) for each text Spanish says otherwise."""
    english = json.loads((CATALOGS / "en.json").read_text("utf-8"))
    spanish = json.loads((CATALOGS / "es.json").read_text("utf-8"))
    found = []
    for key, value in english.items():
        if key.startswith("@") or value == spanish.get(key):
            continue
        ours = [_template(s) for s in _texts(spanish[key])]
        for text in _texts(value):
            if re.search(r"[A-Za-z]{2}", re.sub(r"\{\w+\}", "", text)) and text not in _texts(
                spanish[key]
            ):
                found.append((key, _template(text), ours))
    return found


def untranslated(page: Any, patterns: list[tuple[str, Any, list[Any]]]) -> list[str]:
    """The page's shown texts that are English: "text (key)" (folded parts opened first)."""
    page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
    shown = page.evaluate(OWN_TEXTS, SHOWN)
    assert shown, "nothing shown to check"
    return [
        f"{text} ({key})"
        for text in shown
        for key, english, spanish in patterns
        if english.fullmatch(text) and not any(s.fullmatch(text) for s in spanish)
    ]


@pytest.fixture
def contexts() -> Iterator[Callable[[str], Any]]:
    """Browser contexts with the locale asked for (each its own profile)."""
    with chromium_contexts() as open_context:
        yield lambda locale: open_context(locale=locale)


def _open(context: Any, lab: dict[str, Any]) -> Any:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{lab['url']}/#token={lab['token']}")
    page.wait_for_selector("#live:has-text('●')")
    page.errors = errors
    return page


def _go(page: Any, name: str) -> None:
    page.click(f"nav a[data-page={name}]")
    page.wait_for_selector(f"#page-{name} h1")


def test_the_main_pages_in_spanish_have_no_english_left(
    tmp_path: Path, contexts: Callable[[str], Any]
) -> None:
    patterns = english_only()
    with ExitStack() as stack:
        lab = start_lab(stack, tmp_path, "lab")
        api(lab["home"], "POST", "/api/v1/capabilities", {"advert": ADVERT})
        design = publish_part(lab, tmp_path, "l-bracket-40x30x20.stl", "Soporte en L")
        page = _open(contexts("es-ES"), lab)
        assert page.evaluate("document.documentElement.lang") == "es"
        assert page.evaluate("document.documentElement.dir") == "ltr"
        assert page.input_value("#language") == "es"
        assert page.inner_text("nav a[data-page=jobs]") == "Trabajos cerca"
        left: dict[str, list[str]] = {}
        for name, drawn in PAGES.items():
            _go(page, name)
            page.wait_for_selector(drawn)
            left[name] = untranslated(page, patterns)
            page.screenshot(path=str(ARTIFACTS / f"es-{name}.png"), full_page=True)

        # A design opened: files, print-readiness, lineage, the 3D viewer's words.
        _go(page, "designs")
        page.click("#design-results button:text('Soporte en L')")
        page.wait_for_selector("#design-detail h3:text('Linaje')")
        left["design"] = untranslated(page, patterns)
        page.screenshot(path=str(ARTIFACTS / "es-design.png"), full_page=True)

        # A job offered through the Spanish form, then read under My jobs.
        _go(page, "jobs")
        page.fill("#offer-title", "Cinco soportes")
        page.select_option("#offer-design", design)
        page.fill("#offer-process", "3dp-fdm")
        page.fill("#offer-material", "PETG")
        page.fill("#offer-lat", "41,40")  # a Spanish decimal comma is understood
        page.fill("#offer-lon", "2.19")
        page.fill("#offer-budget", "40,00")
        page.click("#offer-form button[type=submit]")
        page.wait_for_selector("#offer-form [role=status]:has-text('Encargado')")
        page.wait_for_selector("#job-candidates td:text('Test Lab A')")
        quotes = page.inner_text("#job-candidates")  # "4,18 €": Spain's comma, € after
        assert re.search(r"\d+,\d\d\s€", quotes), quotes
        left["job"] = untranslated(page, patterns)
        page.screenshot(path=str(ARTIFACTS / "es-job.png"), full_page=True)
        _go(page, "mine")
        page.click("#my-jobs button:text('Cinco soportes')")
        page.wait_for_selector("#my-job-state[data-state=open]:text('abierto')")
        left["my job"] = untranslated(page, patterns)
        page.screenshot(path=str(ARTIFACTS / "es-my-job.png"), full_page=True)
        assert {k: v for k, v in left.items() if v} == {}
        assert page.errors == []


def test_the_choice_in_the_page_is_remembered(
    tmp_path: Path, contexts: Callable[[str], Any]
) -> None:
    with ExitStack() as stack:
        lab = start_lab(stack, tmp_path, "lab")
        page = _open(contexts("en-US"), lab)
        assert page.evaluate("document.documentElement.lang") == "en"
        assert page.inner_text("#page-designs h1") == "Designs"
        with page.expect_navigation():
            page.select_option("#language", "es")
        page.wait_for_selector("#page-designs h1:text('Diseños')")
        assert page.evaluate("document.documentElement.lang") == "es"
        assert page.evaluate("localStorage.getItem('fabcommons.lang')") == "es"
        page.reload()
        page.wait_for_selector("#page-designs h1:text('Diseños')")  # still Spanish
        assert page.input_value("#language") == "es"
        assert untranslated(page, english_only()) == []
        with page.expect_navigation():
            page.select_option("#language", "fr")
        page.wait_for_selector("#page-designs h1:text('Modèles')")
        _go(page, "node")
        assert page.inner_text("#page-node h1") == "Nœud"
        assert page.errors == []


def test_the_layout_right_to_left(tmp_path: Path, contexts: Callable[[str], Any]) -> None:
    """No catalog is written right to left yet: the page is turned by hand, once."""
    with ExitStack() as stack:
        lab = start_lab(stack, tmp_path, "lab")
        api(lab["home"], "POST", "/api/v1/capabilities", {"advert": ADVERT})
        page = _open(contexts("en-US"), lab)
        _go(page, "labs")
        page.evaluate("document.documentElement.dir = 'rtl'")
        first = page.locator("nav a[data-page=designs]").bounding_box()
        last = page.locator("nav a[data-page=notifications]").bounding_box()
        assert first["x"] > last["x"]  # the navigation starts on the right
        # The heading's words start at main's right edge (inside its padding), not its left.
        words, main = page.evaluate("""() => {
          const range = document.createRange();
          range.selectNodeContents(document.querySelector("#page-labs h1"));
          const box = (r) => ({ left: r.left, right: r.right });
          const main = document.querySelector("main").getBoundingClientRect();
          return [box(range.getBoundingClientRect()), box(main)];
        }""")
        assert main["right"] - words["right"] < 40 < words["left"] - main["left"]
        page.screenshot(path=str(ARTIFACTS / "rtl-labs.png"), full_page=True)
        assert page.errors == []
