"""A design read from a manifest, before its files are fetched and hashed (specs/0010 §5).

A manifest names its files by URL or by a path in its repository; a design body names
them by SHA-256. `DesignDraft` is the body's fields that a manifest can give, with every
file or web page it mentions kept as a `Reference` (what it is to the design, and where).
`design_body` turns a draft into a body once the caller has fetched and hashed the files
it wants (URL references become the body's links); `draft_from_body` goes back, so that
a published design can be exported as a manifest (licenses.okh.export_losh_toml).

Guarantees: a draft's references are grouped by `rel` in the order of
protocol.design.RELS, without repeats; `design_body` returns a valid body or raises
DecodeError("decode.bad-manifest", field=<manifest key>). Notes (what the reader
rewrote, what it ignored) are for people and take no part in equality.
Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

import pydantic

from protocol import canonical, limits
from protocol.design import RELS, DesignBody, FileEntry, design_body_map
from protocol.errors import DecodeError

#: Largest encoded design body: an entry's cap less room for its envelope and signature.
MAX_DESIGN_BODY_BYTES: Final = limits.MAX_ENTRY_BYTES - 2048

_URL = re.compile(r"[a-z][a-z0-9+.-]*://", re.IGNORECASE)

# Which manifest (OKH-LOSH) key a body field comes from, for errors.
_MANIFEST_KEY: Final = {
    "name": "name",
    "summary": "function",
    "version": "version",
    "licence": "license",
    "licence_as_stated": "license",
    "licensors": "licensor",
    "organisation": "organisation",
    "language": "documentation-language",
    "links": "repo",
    "tags": "tsdc",
    "processes": "part.printing-process",
    "materials": "part.material",
    "outer_dimensions_um": "outer-dimensions",
    "oshwa_uid": "attestation",
}


@dataclass(frozen=True, slots=True)
class Reference:
    """A file or page a manifest mentions: `rel` (protocol.design.Rel) and a URL or path."""

    rel: str
    target: str

    @property
    def is_url(self) -> bool:
        return _URL.match(self.target) is not None


@dataclass(frozen=True, slots=True)
class DesignDraft:
    """The body fields a manifest gives, and the references its files will come from."""

    source: str
    name: str
    summary: str
    version: str | None
    licence: str
    licensors: tuple[str, ...]
    organisation: str | None
    language: str | None
    tags: tuple[str, ...]
    processes: tuple[str, ...]
    materials: tuple[str, ...]
    outer_dimensions_um: tuple[int, int, int] | None
    oshwa_uid: str | None
    references: tuple[Reference, ...]
    notes: tuple[str, ...] = field(default=(), compare=False)
    #: The manifest's own licence string when it was normalised (kept in the body).
    licence_as_stated: str | None = field(default=None, compare=False)

    def urls(self, rel: str | None = None) -> list[Reference]:
        """References that are URLs (of one `rel` when given)."""
        return [r for r in self.references if r.is_url and rel in (None, r.rel)]

    def paths(self) -> list[Reference]:
        """References that are paths in the design's repository (files to fetch)."""
        return [r for r in self.references if not r.is_url]


def ordered_references(references: Iterable[Reference]) -> tuple[Reference, ...]:
    """Grouped by rel in RELS order, first occurrence kept, order within a rel kept."""
    unique = list(dict.fromkeys(references))
    return tuple(sorted(unique, key=lambda r: RELS.index(r.rel)))


def design_body(
    draft: DesignDraft,
    *,
    files: Sequence[FileEntry] = (),
    derived_from: Sequence[bytes] = (),
    supersedes: bytes | None = None,
) -> DesignBody:
    """The body of a draft whose files the caller has hashed (`files`); its URL
    references become links. Raises DecodeError naming the manifest key at fault."""
    fields = {
        "name": draft.name,
        "summary": draft.summary,
        "version": draft.version,
        "supersedes": supersedes,
        "licence": draft.licence,
        "licence_as_stated": draft.licence_as_stated,
        "licensors": list(draft.licensors),
        "organisation": draft.organisation,
        "language": draft.language,
        "files": [f.model_dump() for f in files],
        "links": [{"rel": r.rel, "url": r.target} for r in draft.urls()],
        "derived_from": list(derived_from),
        "tags": list(draft.tags),
        "processes": list(draft.processes),
        "materials": list(draft.materials),
        "outer_dimensions_um": (
            None if draft.outer_dimensions_um is None else list(draft.outer_dimensions_um)
        ),
        "oshwa_uid": draft.oshwa_uid,
    }
    try:
        body = DesignBody.model_validate(fields, strict=True)
    except pydantic.ValidationError as e:
        first = e.errors()[0]
        where = str(first["loc"][0]) if first["loc"] else "manifest"
        key = _MANIFEST_KEY.get(where, where)
        if where == "links" and len(first["loc"]) > 1 and isinstance(first["loc"][1], int):
            key = draft.urls()[first["loc"][1]].rel
        raise DecodeError(
            "decode.bad-manifest", f"{key}: {first['msg']}", field=key, source=draft.source
        ) from e
    size = len(canonical.encode(design_body_map(body)))
    if size > MAX_DESIGN_BODY_BYTES:
        raise DecodeError(
            "decode.bad-manifest",
            f"the design takes {size} bytes, limit {MAX_DESIGN_BODY_BYTES}",
            field="manifest",
            source=draft.source,
        )
    return body


def draft_from_body(body: DesignBody, *, source: str) -> DesignDraft:
    """The draft a body was made from, files as path references (for export)."""
    references = [Reference(link.rel, link.url) for link in body.links]
    references += [Reference(f.role, f.path) for f in body.files]
    return DesignDraft(
        source=source,
        name=body.name,
        summary=body.summary,
        version=body.version,
        licence=body.licence,
        licence_as_stated=body.licence_as_stated,
        licensors=tuple(body.licensors),
        organisation=body.organisation,
        language=body.language,
        tags=tuple(body.tags),
        processes=tuple(body.processes),
        materials=tuple(body.materials),
        outer_dimensions_um=(
            None
            if body.outer_dimensions_um is None
            else (
                body.outer_dimensions_um[0],
                body.outer_dimensions_um[1],
                body.outer_dimensions_um[2],
            )
        ),
        oshwa_uid=body.oshwa_uid,
        references=ordered_references(references),
    )
