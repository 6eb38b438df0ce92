"""The dashboard's message catalogs match the page sources (README "Languages").

`tools/i18n/extract_web.py --check` is the gate: every key the page uses is in every
catalog, translated, with the English placeholders, no catalog keeps a key the page no
longer uses, and languages.json lists every catalog. The same check is run on a copy
of the page with one key added to a source, one removed from a catalog, and one left
unused, to see it fail for each; the update mode then adds the missing key in English,
marked untranslated. The stylesheet uses logical properties only (right-to-left ready).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.paths import ROOT
from tools.i18n import extract_web

WEB = ROOT / "node" / "api" / "web"


def _copy(tmp_path: Path) -> Path:
    web = tmp_path / "web"
    web.mkdir()
    for path in WEB.glob("*.js"):
        shutil.copy(path, web / path.name)
    shutil.copy(WEB / "index.html", web / "index.html")
    shutil.copytree(WEB / "i18n", web / "i18n")
    return web


def _catalog(web: Path, lang: str) -> dict[str, object]:
    data = json.loads((web / "i18n" / f"{lang}.json").read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def test_the_catalogs_match_the_page_sources() -> None:
    assert extract_web.run(WEB, check=True) == 0


def test_every_language_is_offered() -> None:
    listed = json.loads((WEB / "i18n" / "languages.json").read_text("utf-8"))
    assert set(listed) >= {"en", "es", "fr", "de"}  # a language may be added, not lost
    assert {about["dir"] for about in listed.values()} <= {"ltr", "rtl"}


def test_a_key_missing_from_a_translation_fails_then_is_added_in_english(tmp_path: Path) -> None:
    web = _copy(tmp_path)
    spanish = _catalog(web, "es")
    english = _catalog(web, "en")
    del spanish["nav.designs"]
    (web / "i18n" / "es.json").write_text(json.dumps(spanish), "utf-8")
    assert extract_web.run(web, check=True) == 1
    assert extract_web.run(web, check=False) == 0  # updated: added, marked untranslated
    updated = _catalog(web, "es")
    assert updated["nav.designs"] == english["nav.designs"]
    assert updated["@untranslated"] == ["nav.designs"]
    assert extract_web.run(web, check=True) == 1  # still English: not done
    assert extract_web.run(web, check=True, allow_untranslated=True) == 0


def test_a_key_the_sources_use_but_english_lacks_fails(tmp_path: Path) -> None:
    web = _copy(tmp_path)
    pending = web / "pending.js"
    pending.write_text(pending.read_text("utf-8") + '\nt("pending.brand-new");\n', "utf-8")
    assert extract_web.run(web, check=True) == 1
    assert extract_web.run(web, check=False) == 1  # English text cannot be made up


def test_a_key_no_source_uses_fails_and_prune_drops_it(tmp_path: Path) -> None:
    web = _copy(tmp_path)
    french = _catalog(web, "fr")
    french["old.gone"] = "Disparu"
    (web / "i18n" / "fr.json").write_text(json.dumps(french), "utf-8")
    assert extract_web.run(web, check=True) == 1
    assert extract_web.run(web, check=False, prune=True) == 0
    assert "old.gone" not in _catalog(web, "fr")
    assert extract_web.run(web, check=True) == 0


def test_a_translation_with_other_placeholders_fails(tmp_path: Path) -> None:
    web = _copy(tmp_path)
    german = _catalog(web, "de")
    german["jobs.away"] = "{distanz} entfernt"
    (web / "i18n" / "de.json").write_text(json.dumps(german), "utf-8")
    assert extract_web.run(web, check=True) == 1


@pytest.mark.parametrize(
    "source", ['t("nav.designs")', 'tn( "jobs.offered", {})', 'data-i18n="nav.designs"']
)
def test_keys_are_found_in_calls_and_markup(tmp_path: Path, source: str) -> None:
    web = tmp_path / "web"
    web.mkdir()
    (web / ("index.html" if source.startswith("data") else "page.js")).write_text(source, "utf-8")
    assert extract_web.used_keys(web) == {source.split('"')[1]}


# Physical directions in the stylesheet: each has a logical property (inline-start...).
_PHYSICAL = re.compile(
    r"(?:margin|padding|border)-(?:left|right|top|bottom)\b|(?<![-\w])(?:left|right|top|bottom)\s*:"
    r"|text-align:\s*(?:left|right)|float:\s*(?:left|right)"
    r"|(?:margin|padding):\s*[^\s;{}]+\s+[^\s;{}]+\s+[^;{}]+;"  # three or four sides in one
)


def test_the_stylesheet_uses_logical_properties_only() -> None:
    css = (WEB / "style.css").read_text("utf-8")
    assert _PHYSICAL.findall(css) == []
