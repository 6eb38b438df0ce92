"""The message catalogs against the sources (README "Languages", `make i18n`).

Babel extracts the messages of node/ to a temporary template exactly as `make i18n`
does (babel.cfg); every catalog must translate each one (an empty or fuzzy
translation counts as missing, in every plural form), hold no message the code no
longer uses, keep each message's {placeholders}, and ship a compiled .mo that says
what its .po says.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from node.i18n import DOMAIN, LOCALE_DIR, SOURCE_LANGUAGE, languages
from tests.paths import ROOT

TRANSLATED = ("es", "fr", "de")
MsgId = str | tuple[str, ...]
_FIELD = re.compile(r"\{([a-z_]*)\}")


def key(message: Message) -> MsgId:
    return message.id if isinstance(message.id, str) else tuple(message.id)


def strings(message: Message) -> tuple[str, ...]:
    """A message's translation, one string per plural form ("" when missing)."""
    value = message.string
    return (value,) if isinstance(value, str) else tuple(value or ())


def fields(text: str) -> set[str]:
    return set(_FIELD.findall(text))


def problems(template: Catalog, catalog: Catalog) -> list[str]:
    """What keeps `catalog` from covering `template`: missing, untranslated or fuzzy
    messages, messages the code no longer uses, placeholders that differ."""
    wanted = {key(m) for m in template if m.id}
    held = {key(m): m for m in catalog if m.id}
    found = [f"missing: {k!r}" for k in sorted(wanted - set(held), key=str)]
    found += [f"no longer used: {k!r}" for k in sorted(set(held) - wanted, key=str)]
    for k in sorted(wanted & set(held), key=str):
        message = held[k]
        forms = strings(message)
        if message.fuzzy or not forms or not all(forms):
            found.append(f"untranslated: {k!r}")
            continue
        ids = [k] if isinstance(k, str) else list(k)
        if any(fields(s) != fields(ids[-1]) and fields(s) != fields(ids[0]) for s in forms):
            found.append(f"placeholders differ: {k!r}")
    return found


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The messages of the sources now, extracted as `make i18n` extracts them."""
    pot = tmp_path_factory.mktemp("i18n") / "fabnode.pot"
    done = subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "--no-location", "-o", str(pot), "node"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with pot.open("rb") as f:
        catalog = read_po(f)
    assert len([m for m in catalog if m.id]) > 100  # the extraction saw the sources
    return catalog


def po_of(language: str) -> Catalog:
    with (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as f:
        return read_po(f, locale=language)


def test_the_languages_are_those_with_a_catalog() -> None:
    assert languages() == (SOURCE_LANGUAGE, "de", "es", "fr")


@pytest.mark.parametrize("language", TRANSLATED)
def test_each_catalog_translates_every_message_and_no_stale_one(
    template: Catalog, language: str
) -> None:
    assert problems(template, po_of(language)) == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_each_compiled_catalog_says_what_its_source_says(language: str) -> None:
    """The committed .mo is `make i18n`'s compilation of the committed .po."""
    source = {key(m): strings(m) for m in po_of(language) if m.id}
    with (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as f:
        compiled = {key(m): strings(m) for m in read_mo(f) if m.id}
    assert compiled == source


def test_the_checker_finds_each_kind_of_problem() -> None:
    template = Catalog()
    for text in ("kept {n}", "gone", "empty", "fuzzy", "moved {a}"):
        template.add(text)
    template.add(("one {n}", "many {n}"))
    catalog = Catalog(locale="fr")
    catalog.add("kept {n}", "gardé {n}")
    catalog.add("empty", "")
    catalog.add("fuzzy", "flou", flags=["fuzzy"])
    catalog.add("moved {a}", "déplacé {b}")
    catalog.add(("one {n}", "many {n}"), ("un {n}", ""))
    catalog.add("stale", "périmé")
    assert problems(template, catalog) == [
        "missing: 'gone'",
        "no longer used: 'stale'",
        "untranslated: ('one {n}', 'many {n}')",
        "untranslated: 'empty'",
        "untranslated: 'fuzzy'",
        "placeholders differ: 'moved {a}'",
    ]
    good = Catalog(locale="fr")
    for text, translated in (("kept {n}", "gardé {n}"), ("gone", "parti"), ("empty", "vide"),
                             ("fuzzy", "flou"), ("moved {a}", "déplacé {a}")):  # fmt: skip
        good.add(text, translated)
    good.add(("one {n}", "many {n}"), ("un {n}", "beaucoup {n}"))
    assert problems(template, good) == []


MARKERS = {"_", "N_", "gettext", "ngettext"}


def hidden_messages(source: str) -> list[int]:
    """Lines where a message is marked inside an f-string: Babel's extractor does not
    look there, so no catalog would hold it."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Call):
                    name = getattr(inner.func, "id", getattr(inner.func, "attr", None))
                    if name in MARKERS:
                        lines.append(inner.lineno)
    return lines


def test_no_message_hides_inside_an_f_string() -> None:
    assert hidden_messages("x = f\"{_('a')} {n}\"\ny = _('b') + f'{z}'\n") == [1]
    found = {
        str(path.relative_to(ROOT)): hidden_messages(path.read_text())
        for path in (ROOT / "node").rglob("*.py")
    }
    assert {path: lines for path, lines in found.items() if lines} == {}


def test_the_template_in_the_repository_is_current(template: Catalog) -> None:
    """node/i18n/fabnode.pot (for translators) holds what the sources say."""
    with (Path(LOCALE_DIR).parent / f"{DOMAIN}.pot").open("rb") as f:
        committed = {key(m) for m in read_po(f) if m.id}
    assert committed == {key(m) for m in template if m.id}
