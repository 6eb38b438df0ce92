"""The fields of one OKH manifest, read into a design draft (specs/0010-designs.md §5).

`ManifestReader` takes a manifest's table, its keys already in canonical kebab-case
(licenses.okh_fields.canonical_keys), and reads it as OKH-LOSH (`losh`) or OKH v1
(`v1`) into a `DesignDraft`: references grouped by kind, tags, processes and materials
as sorted sets, every rewrite of a value recorded as a note. Values go through
licenses.okh_fields; the licence through licenses.okh_licence with the whole manifest
text as context. Every refusal is a DecodeError naming the manifest key.

Pure: no I/O. Parsing the text and checking sizes is licenses.okh's.
"""

from __future__ import annotations

import re
from typing import Any, Final

from licenses.okh_draft import DesignDraft, Reference, ordered_references
from licenses.okh_fields import (
    bad,
    language_tag,
    one_line,
    openscad_size_um,
    paragraph,
    token,
    unit_um,
)
from licenses.okh_licence import normalise_okh_licence
from protocol.design import MAX_TAG_CHARS, RELS
from protocol.errors import DecodeError

# OKH-LOSH keys naming files or pages, and what they are to the design.
LOSH_REFERENCES: Final = (
    ("repo", "repo"),
    ("release", "release"),
    ("readme", "readme"),
    ("image", "image"),
    ("bom", "bom"),
    ("manufacturing-instructions", "manufacturing-instructions"),
    ("user-manual", "user-manual"),
    ("source", "source"),
    ("export", "export"),
    ("fork-of", "fork-of"),
)
# OKH v1 keys naming files or pages (OKH-LOSH's published mapping from v1, extended).
_V1_REFERENCES: Final = (
    ("documentation-home", "repo"),
    ("project-link", "homepage"),
    ("archive-download", "release"),
    ("image", "image"),
    ("bom", "bom"),
    ("making-instructions", "manufacturing-instructions"),
    ("operating-instructions", "user-manual"),
    ("design-files", "source"),
    ("schematics", "source"),
    ("manufacturing-files", "export"),
    ("software", "software"),
    ("derivative-of", "fork-of"),
    ("variant-of", "fork-of"),
    ("maintenance-instructions", "documentation"),
    ("disposal-instructions", "documentation"),
    ("risk-assessment", "documentation"),
    ("quality-instructions", "documentation"),
    ("tool-list", "documentation"),
    ("tool-settings", "documentation"),
)
# Technology-specific documentation criteria (DIN SPEC 3105-1) that name a process.
_TSDC_PROCESSES: Final = {
    "3DP": "3d-printing",
    "CNC": "cnc-machining",
    "PCB": "pcb-fabrication",
    "WEL": "welding",
}
# Keys read on purpose but not kept: they describe the manifest or readiness levels.
_LOSH_IGNORED: Final = frozenset(
    {"okhv", "timestamp", "technology-readiness-level", "documentation-readiness-level"}
)
_V1_IGNORED: Final = frozenset(
    {
        "date-created",
        "date-updated",
        "manifest-author",
        "manifest-language",
        "contact",
        "contributors",
        "development-stage",
        "made",
        "made-independently",
        "standards-used",
        "sub",
        "documentation-is-translation",
        "manifest-is-translation",
    }
)
_OSHWA = re.compile(r"https?://certification\.oshwa\.org/([a-z]{2}[0-9]{6})\.html", re.I)


class ManifestReader:
    """Reads one manifest's table into draft fields, collecting notes and references."""

    def __init__(self, table: dict[str, Any], text: str, licence_override: str | None):
        self.table = table
        self.text = text
        self.override = licence_override
        self.used: set[str] = set()
        self.notes: list[str] = []
        self.licence_as_stated: str | None = None
        self.references: list[Reference] = []
        self.tags: set[str] = set()
        self.processes: set[str] = set()
        self.materials: set[str] = set()
        self.dimensions: tuple[int, int, int] | None = None
        self.oshwa_uid: str | None = None

    # -- typed access ------------------------------------------------------------------

    def raw(self, key: str, table: dict[str, Any] | None = None) -> Any:
        if table is None:
            self.used.add(key)
        return (self.table if table is None else table).get(key)

    def text_of(
        self,
        key: str,
        table: dict[str, Any] | None = None,
        where: str = "",
        *,
        numbers: bool = False,
    ) -> str | None:
        """A text value; `numbers` also takes a number as its text (`version: 1.2`)."""
        value = self.raw(key, table)
        if value is None:
            return None
        if not _is_text(value, numbers):
            raise bad(where + key, f"want text, got {_kind(value)}")
        return str(value)

    def texts_of(self, key: str, table: dict[str, Any] | None = None, where: str = "") -> list[str]:
        """A text value or a list of them (`image` is written both ways)."""
        value = self.raw(key, table)
        items = value if isinstance(value, list) else [] if value is None else [value]
        for item in items:
            if not _is_text(item, False):
                raise bad(where + key, f"want text or a list of text, got {_kind(item)}")
        return [str(item) for item in items]

    def tables_of(self, key: str, table: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        value = self.raw(key, table)
        items = value if isinstance(value, list) else [] if value is None else [value]
        if not all(isinstance(item, dict) for item in items):
            raise bad(key, "want a table or a list of tables")
        return items

    # -- the two manifest formats ------------------------------------------------------

    def losh(self) -> DesignDraft:
        for key, rel in LOSH_REFERENCES:
            self.refer(rel, self.texts_of(key), key)
        for software in self.tables_of("software"):
            self.refer("software", self.texts_of("release", software, "software."), "software")
            guides = self.texts_of("installation-guide", software, "software.")
            self.refer("software-guide", guides, "software")
        for link in self.tables_of("fabcommons-link"):
            rel = self.text_of("rel", link, "fabcommons-link.") or ""
            self.refer(rel, self.texts_of("url", link, "fabcommons-link."), "fabcommons-link")
        self.attestation(self.texts_of("attestation"))
        for tsdc in self.texts_of("tsdc"):
            self.tag("tsdc", f"tsdc:{one_line(tsdc)}")
            self.process_from_tsdc(tsdc)
        for cpc in self.texts_of("cpc-patent-class"):
            self.tag("cpc-patent-class", f"cpc:{one_line(cpc)}")
        for tag in self.texts_of("fabcommons-tags"):
            self.tag("fabcommons-tags", one_line(tag))
        for key in ("joining-process", "fabcommons-processes"):
            self.processes.update(token(process, key) for process in self.texts_of(key))
        self.materials.update(m for m in map(one_line, self.texts_of("fabcommons-materials")) if m)
        for part in self.tables_of("part"):
            self.part(part)
        self.outer_dimensions()
        return self.draft(
            name_key="name",
            summary=self.text_of("function") or "",
            licence_key="license",
            licence=self.text_of("license"),
            licensors=self.texts_of("licensor"),
            organisation=self.text_of("organisation"),
            language_key="documentation-language",
            ignored=_LOSH_IGNORED,
        )

    def v1(self) -> DesignDraft:
        for key, rel in _V1_REFERENCES:
            self.refer(rel, self.v1_paths(key), key)
        for keyword in self.keywords():
            self.tag("keywords", one_line(keyword))
        keys = ("description", "intended-use", "indended-use", "health-safety-notice")
        parts = [paragraph(self.text_of(key) or "") for key in keys]
        summary = "\n\n".join(part for part in parts if part)
        licensors, organisation = self.v1_licensors()
        return self.draft(
            name_key="title",
            summary=summary,
            licence_key="license",
            licence=self.v1_licence(),
            licensors=licensors,
            organisation=organisation,
            language_key="documentation-language",
            ignored=_V1_IGNORED,
        )

    # -- pieces ------------------------------------------------------------------------

    def draft(
        self,
        *,
        name_key: str,
        summary: str,
        licence_key: str,
        licence: str | None,
        licensors: list[str],
        organisation: str | None,
        language_key: str,
        ignored: frozenset[str],
    ) -> DesignDraft:
        name = one_line(self.text_of(name_key) or "")
        if not name:
            raise bad(name_key, "the design has no name")
        version = one_line(self.text_of("version", numbers=True) or "")
        languages = self.texts_of(language_key)
        self.notes += [f"ignored key {k!r}" for k in sorted(set(self.table) - self.used - ignored)]
        return DesignDraft(
            source="",
            name=name,
            summary=paragraph(summary),
            version=None if version.upper() in ("", "UNVERSIONED") else version,
            licence=self.licence(licence_key, licence),
            licensors=self.licensors(licensors),
            organisation=one_line(organisation or "") or None,
            language=self.language(language_key, languages),
            tags=tuple(sorted(self.tags)),
            processes=tuple(sorted(self.processes)),
            materials=tuple(sorted(self.materials)),
            outer_dimensions_um=self.dimensions,
            oshwa_uid=self.oshwa_uid,
            references=ordered_references(self.references),
            notes=tuple(self.notes),
            licence_as_stated=self.licence_as_stated,
        )

    def licence(self, key: str, raw: str | None) -> str:
        if self.override is not None:
            licence = normalise_okh_licence(self.override)
            self.notes.append(f"{key}: {raw!r} replaced by the importer's answer {licence!r}")
            self.licence_as_stated = None if raw is None else one_line(raw)[:512] or None
            return licence
        if raw is None:
            raise bad(key, "the manifest states no licence")
        try:
            licence = normalise_okh_licence(raw, context=self.text)
        except DecodeError as e:
            e.details["field"] = key
            raise
        if licence != raw:
            self.notes.append(f"{key}: {raw!r} read as {licence!r}")
            self.licence_as_stated = one_line(raw)[:512] or None
        return licence

    def licensors(self, raws: list[str]) -> tuple[str, ...]:
        names: list[str] = []
        for raw in raws:
            name = re.sub(r"^[.\s]+", "", one_line(raw))  # Appropedia's ". Name"
            if not name:
                self.notes.append(f"licensor: {raw!r} names no one; left out")
                continue
            if name != raw:
                self.notes.append(f"licensor: {raw!r} read as {name!r}")
            names.append(name)
        return tuple(dict.fromkeys(names))

    def language(self, key: str, raws: list[str]) -> str | None:
        if not raws:
            return None
        tag, notes = language_tag(raws[0], key)
        self.notes += notes
        if len(raws) > 1:
            self.notes.append(f"{key}: kept the first of {raws!r}")
        return tag

    def refer(self, rel: str, targets: list[str], key: str) -> None:
        if rel not in RELS:
            raise bad(key, f"{rel!r} is not a kind of link")
        for raw in targets:
            target = raw.strip()
            if not target:
                continue
            if len(target) > 2048 or re.search(r"[\x00-\x1f\x7f]", target):
                raise bad(key, f"{target[:80]!r} is not a usable URL or path")
            self.references.append(Reference(rel, target))

    def attestation(self, urls: list[str]) -> None:
        for url in urls:
            match = _OSHWA.fullmatch(url.strip())
            if match is None:
                self.refer("attestation", [url], "attestation")
            elif self.oshwa_uid not in (None, match.group(1).upper()):
                raise bad("attestation", "two OSHWA certificates: which one?")
            else:
                self.oshwa_uid = match.group(1).upper()

    def tag(self, key: str, tag: str) -> None:
        if not tag or len(tag) > MAX_TAG_CHARS:
            raise bad(key, f"{tag[:80]!r} is not a tag of 1 to {MAX_TAG_CHARS} characters")
        self.tags.add(tag)

    def process_from_tsdc(self, tsdc: str) -> None:
        process = _TSDC_PROCESSES.get(one_line(tsdc).upper())
        if process is not None:
            self.processes.add(process)

    def part(self, part: dict[str, Any]) -> None:
        self.refer("image", self.texts_of("image", part, "part."), "part.image")
        self.refer("source", self.texts_of("source", part, "part."), "part.source")
        self.refer("export", self.texts_of("export", part, "part."), "part.export")
        for tsdc in self.texts_of("tsdc", part, "part."):
            self.process_from_tsdc(tsdc)
        for process in self.texts_of("printing-process", part, "part."):
            self.processes.add(token(process, "part.printing-process"))
        for material in self.texts_of("material", part, "part."):
            if one_line(material):
                self.materials.add(one_line(material))

    def outer_dimensions(self) -> None:
        for key in sorted(k for k in self.table if k.startswith("outer-dimensions")):
            value = self.raw(key)
            if isinstance(value, dict):
                shape = self.text_of("openscad", value, f"{key}.")
                unit = self.text_of("unit", value, f"{key}.") or "mm"
            else:
                shape = self.text_of(key)
                unit = key.removeprefix("outer-dimensions").removeprefix("-") or "mm"
            if shape is None:
                raise bad(key, "no OpenSCAD shape given")
            if self.dimensions is not None:
                raise bad(key, "outer dimensions given twice")
            self.dimensions = openscad_size_um(shape, unit_um(unit, key), key)

    def keywords(self) -> list[str]:
        value = self.raw("keywords")
        if isinstance(value, str):
            return [k for k in value.split(",") if k.strip()]
        return self.texts_of("keywords")

    def v1_paths(self, key: str) -> list[str]:
        """A v1 link field: a path, a list of paths, or {path|web|manifest, title} tables."""
        value = self.raw(key)
        items = value if isinstance(value, list) else [] if value is None else [value]
        out: list[str] = []
        for item in items:
            if isinstance(item, dict):
                given = (item.get(k) for k in ("path", "web", "manifest"))
                target = next((value for value in given if value), None)
                if target is not None and not isinstance(target, str):
                    raise bad(key, f"want a path, got {_kind(target)}")
                out += [target] if target else []
            elif isinstance(item, str):
                out.append(item)
            else:
                raise bad(key, f"want a path or a list of paths, got {_kind(item)}")
        return out

    def v1_licence(self) -> str | None:
        value = self.raw("license")
        if isinstance(value, dict):
            for part in ("hardware", "documentation"):
                text = self.text_of(part, value, "license.")
                if text:
                    if part == "documentation":
                        self.notes.append("license: no hardware licence; documentation's used")
                    return text
            raise bad("license", "neither a hardware nor a documentation licence")
        return self.text_of("license")

    def v1_licensors(self) -> tuple[list[str], str | None]:
        value = self.raw("licensor")
        if isinstance(value, str) or value is None:
            return self.texts_of("licensor"), None
        names: list[str] = []
        affiliations: list[str] = []
        for person in value if isinstance(value, list) else [value]:
            if isinstance(person, str):
                names.append(person)
                continue
            if not isinstance(person, dict):
                raise bad("licensor", f"want a name or a table, got {_kind(person)}")
            names += self.texts_of("name", person, "licensor.")
            affiliations += self.texts_of("affiliation", person, "licensor.")
        return names, affiliations[0] if affiliations else None


def _is_text(value: Any, numbers: bool) -> bool:
    if isinstance(value, str):
        return True
    return numbers and isinstance(value, int | float) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    names = {dict: "a table", list: "a list", bool: "true/false", int: "a number"}
    return names.get(type(value), "a value")
