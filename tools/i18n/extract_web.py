"""The dashboard's message catalogs (node/api/web/i18n/<lang>.json), kept in step with
the page sources.

The page looks its texts up by stable dotted keys: ``t("nav.designs")`` or
``tn("jobs.offered", {...})`` in node/api/web/*.js, ``data-i18n="key"`` and
``data-i18n-attr="attr:key"`` in index.html. This script finds every key used and
compares each catalog with them:

- a key used but missing from en.json (the source language) is an error: its English
  text must be written there by hand;
- a key missing from another catalog is added with the English text and listed under
  ``"@untranslated"`` (the translator's to-do list);
- a key in a catalog that no source uses any more is unused (listed; ``--prune`` drops it);
- a translation whose ``{placeholders}`` differ from the English is an error.

It also writes i18n/languages.json, the list the page offers, from each catalog's
``"@language"`` (its own name and writing direction): adding a language is adding a
catalog, never code. ``--check`` changes nothing and fails on any difference (the
test suite runs it). Keys beginning with ``@`` are the catalog's own metadata.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "node" / "api" / "web"
SOURCE = "en"
_KEY = r"[a-z0-9][a-z0-9_.-]*"
_JS_CALL = re.compile(r"\btn?\(\s*\"(" + _KEY + r")\"")
_HTML_TEXT = re.compile(r"data-i18n=\"(" + _KEY + r")\"")
_HTML_ATTR = re.compile(r"data-i18n-attr=\"[a-z-]+:(" + _KEY + r")\"")
_KEY_NAME = re.compile(_KEY)
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_CATALOG_NAME = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*\.json")

Text = str | dict[str, str] | list[str]


@dataclass
class Report:
    """What differs between the sources and one catalog."""

    missing: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    untranslated: list[str] = field(default_factory=list)
    placeholders: list[str] = field(default_factory=list)

    def clean(self, *, allow_untranslated: bool = False) -> bool:
        return not (
            self.missing
            or self.unused
            or self.placeholders
            or (self.untranslated and not allow_untranslated)
        )


def used_keys(web: Path = WEB) -> set[str]:
    """Every key the page sources use (the vendored three.js excluded)."""
    keys: set[str] = set()
    for path in sorted(web.glob("*.js")):
        keys.update(_JS_CALL.findall(path.read_text(encoding="utf-8")))
    for path in sorted(web.glob("*.html")):
        text = path.read_text(encoding="utf-8")
        keys.update(_HTML_TEXT.findall(text))
        keys.update(_HTML_ATTR.findall(text))
    return keys


def catalog_paths(web: Path = WEB) -> dict[str, Path]:
    folder = web / "i18n"
    return {
        p.stem: p
        for p in sorted(folder.glob("*.json"))
        if _CATALOG_NAME.fullmatch(p.name) and p.name != "languages.json"
    }


def _placeholders(text: Text) -> set[str]:
    if isinstance(text, list):  # metadata, not a text
        return set()
    values = list(text.values()) if isinstance(text, dict) else [text]
    return {name for value in values for name in _PLACEHOLDER.findall(value)}


def compare(used: set[str], source: dict[str, Text], catalog: dict[str, Text]) -> Report:
    """How `catalog` differs from the keys `used` (`source`: the English catalog)."""
    entries = {k: v for k, v in catalog.items() if not k.startswith("@")}
    marked = set(catalog.get("@untranslated", []))
    report = Report(
        missing=sorted(used - entries.keys()),
        unused=sorted(entries.keys() - used),
        untranslated=sorted(marked & used),
    )
    for key in sorted(used & entries.keys() & source.keys()):
        if _placeholders(entries[key]) != _placeholders(source[key]):
            report.placeholders.append(key)
    return report


def _load(path: Path) -> dict[str, Text]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise SystemExit(f"{path.name}: a JSON object of key -> text, got {type(data).__name__}")
    return data


def _write(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n", "utf-8")


def update(
    lang: str, catalog: dict[str, Text], source: dict[str, Text], used: set[str], *, prune: bool
) -> dict[str, Text]:
    """`catalog` with the used keys it lacks added in English and marked untranslated."""
    out = dict(catalog)
    marked = set(out.get("@untranslated", []))
    for key in sorted(used - out.keys()):
        if key in source:
            out[key] = source[key]
            marked.add(key)
    if prune:
        for key in [k for k in out if not k.startswith("@") and k not in used]:
            del out[key]
    marked &= {k for k in out if not k.startswith("@")}
    if lang != SOURCE and marked:
        out["@untranslated"] = sorted(marked)
    else:
        out.pop("@untranslated", None)
    return out


def languages(catalogs: dict[str, dict[str, Text]]) -> dict[str, dict[str, str]]:
    """languages.json: each catalog's own name and direction (the page lists them by code)."""
    listed: dict[str, dict[str, str]] = {}
    for lang in sorted(catalogs, key=lambda k: (k != SOURCE, k)):
        about = catalogs[lang].get("@language", {})
        name = about.get("name", lang) if isinstance(about, dict) else lang
        direction = about.get("dir", "ltr") if isinstance(about, dict) else "ltr"
        listed[lang] = {"name": name, "dir": "rtl" if direction == "rtl" else "ltr"}
    return listed


def run(
    web: Path = WEB, *, check: bool, prune: bool = False, allow_untranslated: bool = False
) -> int:
    """Compare (and unless `check`, update) every catalog under `web`; 0 when clean."""
    used = used_keys(web)
    paths = catalog_paths(web)
    if SOURCE not in paths:
        print(f"no {SOURCE}.json under {web / 'i18n'}", file=sys.stderr)
        return 1
    catalogs = {lang: _load(p) for lang, p in paths.items()}
    source = catalogs[SOURCE]
    ok = True
    for lang, catalog in catalogs.items():
        report = compare(used, source, catalog)
        if lang == SOURCE:
            report.untranslated = []
        for what, keys in (
            ("missing", report.missing),
            ("unused", report.unused),
            ("untranslated", report.untranslated),
            ("placeholders differ from English", report.placeholders),
        ):
            if keys:
                print(f"{lang}.json: {len(keys)} {what}: {', '.join(keys)}", file=sys.stderr)
        failing = (lang == SOURCE and bool(report.missing)) or bool(report.placeholders)
        if check and not report.clean(allow_untranslated=allow_untranslated):
            failing = (
                True  # (English text cannot be invented: a key missing from en.json always fails)
            )
        ok = ok and not failing
        if not check:
            catalogs[lang] = update(lang, catalog, source, used, prune=prune)
            _write(paths[lang], catalogs[lang])
    index = languages(catalogs)
    index_path = web / "i18n" / "languages.json"
    if check:
        if not index_path.exists() or json.loads(index_path.read_text("utf-8")) != index:
            print("languages.json is not up to date: run make i18n", file=sys.stderr)
            ok = False
    else:
        _write(index_path, index)
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="change nothing; fail on any difference"
    )
    parser.add_argument("--prune", action="store_true", help="drop keys no source uses")
    parser.add_argument(
        "--allow-untranslated",
        action="store_true",
        help="with --check: keys still in English are not a failure",
    )
    args = parser.parse_args(argv)
    return run(check=args.check, prune=args.prune, allow_untranslated=args.allow_untranslated)


if __name__ == "__main__":
    sys.exit(main())
