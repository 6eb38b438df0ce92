"""The `design` entry kind: an open-hardware design and its files (specs/0010-designs.md).

A design body names the design, its licence (an SPDX expression) and licensors, the
files that make it up (each by SHA-256, size and media type; the bytes travel as
blobs, specs/0009-blobs.md), mesh geometry where a file is a mesh, the designs it is
derived from and the earlier version it supersedes (entry ids), links to where it
lives on the web, tags, manufacturing hints and an optional OSHWA certification UID.
A new version of a design is a new entry whose `supersedes` names the previous one.
The `design.withdraw` kind takes one version down (its author's only); `design.readiness`
carries the print-readiness its author measured of its meshes.

Guarantees: a `DesignBody` is within every bound below; every field is present on
the wire (nil where a value is absent), so one design has one canonical encoding.
No floats: lengths are integer micrometres (`_um`), volumes cubic millimetres.
Left to others: whether the licence is a known, open SPDX expression and whether it
allows deriving from the parents (licenses.design_licence, on publish and on receipt),
whether the blobs exist, and what the ids point to (ledger views).
Its kind is listed in `KINDS`, which protocol.kinds gathers.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import AfterValidator, Field, model_validator

from protocol import limits
from protocol.bodies import Bytes32, KindSpec, StrictBody

DESIGN: Final = "design"
WITHDRAW: Final = "design.withdraw"
READINESS: Final = "design.readiness"

MAX_NAME_CHARS: Final = 200
MAX_SUMMARY_CHARS: Final = 8192
MAX_VERSION_CHARS: Final = 64
MAX_LICENCE_CHARS: Final = 512
MAX_PERSON_CHARS: Final = 200
MAX_LICENSORS: Final = 32
MAX_FILES: Final = 256
MAX_PATH_CHARS: Final = 512
MAX_MEDIA_TYPE_CHARS: Final = 127
MAX_LINKS: Final = 64
MAX_URL_CHARS: Final = 2048
MAX_PARENTS: Final = 32
MAX_TAGS: Final = 32
MAX_TAG_CHARS: Final = 64
MAX_PROCESSES: Final = 16
MAX_MATERIALS: Final = 16
MAX_MATERIAL_CHARS: Final = 64
MAX_LANGUAGE_CHARS: Final = 35
MAX_REASON_CHARS: Final = 1024
#: Largest coordinate or dimension: 1 km in micrometres.
MAX_LENGTH_UM: Final = 10**9
#: Largest size of one file a design may name (the hard cap of an integer).
MAX_FILE_BYTES: Final = 2**63 - 1

#: What a link or file is to the design (the OKH-LOSH fields they come from).
Rel = Literal[
    "repo",
    "homepage",
    "release",
    "readme",
    "image",
    "bom",
    "manufacturing-instructions",
    "user-manual",
    "source",
    "export",
    "software",
    "software-guide",
    "attestation",
    "fork-of",
    "documentation",
]
RELS: Final[tuple[str, ...]] = get_args(Rel)

# Control characters (C0, DEL, C1) never appear in text fields; tab and newline only
# in the summary.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_OSHWA_UID = r"^[A-Z]{2}[0-9]{6}$"
# BCP 47 (RFC 5646) language tags in their canonical case: language, optional
# script, optional region, variants. Extensions and private use are not accepted.
_LANGUAGE = (
    r"^[a-z]{2,3}(?:-[A-Z][a-z]{3})?(?:-(?:[A-Z]{2}|[0-9]{3}))?"
    r"(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*$"
)
# RFC 6838 §4.2 restricted names, lower case, no parameters.
_MEDIA_TYPE = r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$"
_URL = r"^[a-z][a-z0-9+.-]*://[^\s\x00-\x1f\x7f]+$"
_PROCESS = r"^[a-z0-9][a-z0-9-]{0,47}$"
# SPDX 2.3 Annex D characters; the expression itself is checked by licenses.spdx.
_LICENCE = r"^[A-Za-z0-9.+:()-]+(?: [A-Za-z0-9.+:()-]+)*$"


def _one_line(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("control characters are not allowed")
    if value != value.strip():
        raise ValueError("no leading or trailing white space")
    return value


def _text(value: str) -> str:
    if _CONTROL_BUT_TEXT.search(value) or "\r" in value:
        raise ValueError("control characters other than tab and newline are not allowed")
    if value != value.strip():
        raise ValueError("no leading or trailing white space")
    if len(value.encode()) > limits.MAX_STR_BYTES:  # 8192 chars may take 32 KiB of UTF-8
        raise ValueError(f"at most {limits.MAX_STR_BYTES} bytes of UTF-8 (a canonical string)")
    return value


def _relative_path(value: str) -> str:
    """A POSIX path inside the design: no root, no `.`/`..`, no empty segment."""
    _one_line(value)
    if value.startswith("/") or "\\" in value:
        raise ValueError("a path is relative, with '/' between segments")
    if any(part in ("", ".", "..") for part in value.split("/")):
        raise ValueError("a path has no empty, '.' or '..' segment")
    return value


def _sorted_unique(value: list[Any]) -> list[Any]:
    if value != sorted(set(value)):
        raise ValueError("must be sorted and without repeats")
    return value


def _unique(value: list[Any]) -> list[Any]:
    if len(set(value)) != len(value):
        raise ValueError("must not repeat an item")
    return value


Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS), AfterValidator(_one_line)]
Person = Annotated[str, Field(min_length=1, max_length=MAX_PERSON_CHARS), AfterValidator(_one_line)]
Tag = Annotated[str, Field(min_length=1, max_length=MAX_TAG_CHARS), AfterValidator(_one_line)]
Material = Annotated[
    str, Field(min_length=1, max_length=MAX_MATERIAL_CHARS), AfterValidator(_one_line)
]
Process = Annotated[str, Field(pattern=_PROCESS)]
Coordinate_um = Annotated[int, Field(ge=-MAX_LENGTH_UM, le=MAX_LENGTH_UM)]
Length_um = Annotated[int, Field(ge=1, le=MAX_LENGTH_UM)]
Point_um = Annotated[list[Coordinate_um], Field(min_length=3, max_length=3)]
Size_um = Annotated[list[Length_um], Field(min_length=3, max_length=3)]


class Geometry(StrictBody):
    """What a mesh file measures (node/ops/geometry.py computes it).

    The bounding box is in the file's own axes, corners in micrometres; `volume_mm3`
    is the enclosed volume rounded to whole mm³, meaningful only when `closed` (the
    mesh is watertight); `triangles` counts the mesh's triangles.
    """

    bbox_min_um: Point_um
    bbox_max_um: Point_um
    volume_mm3: Annotated[int, Field(ge=0, le=2**63 - 1)]
    triangles: Annotated[int, Field(ge=1, le=2**32 - 1)]
    closed: bool

    @model_validator(mode="after")
    def _box_is_ordered(self) -> Geometry:
        if any(lo > hi for lo, hi in zip(self.bbox_min_um, self.bbox_max_um, strict=True)):
            raise ValueError("bbox_min_um must not exceed bbox_max_um on any axis")
        return self


class FileEntry(StrictBody):
    """One file of the design: where it sits, what it is to the design, its blob."""

    path: Annotated[
        str, Field(min_length=1, max_length=MAX_PATH_CHARS), AfterValidator(_relative_path)
    ]
    role: Rel
    sha256: Bytes32
    size_bytes: Annotated[int, Field(ge=0, le=MAX_FILE_BYTES)]
    media_type: Annotated[str, Field(max_length=MAX_MEDIA_TYPE_CHARS, pattern=_MEDIA_TYPE)]
    geometry: Geometry | None


class Link(StrictBody):
    """A link to where the design lives on the web (repository, images, manuals)."""

    rel: Rel
    url: Annotated[str, Field(min_length=8, max_length=MAX_URL_CHARS, pattern=_URL)]


class DesignBody(StrictBody):
    """design — one version of an open-hardware design (specs/0010-designs.md §2)."""

    name: Name
    summary: Annotated[str, Field(max_length=MAX_SUMMARY_CHARS), AfterValidator(_text)]
    version: (
        Annotated[str, Field(min_length=1, max_length=MAX_VERSION_CHARS), AfterValidator(_one_line)]
        | None
    )
    supersedes: Bytes32 | None
    licence: Annotated[str, Field(min_length=1, max_length=MAX_LICENCE_CHARS, pattern=_LICENCE)]
    #: The licence as its source stated it, when that differs from `licence` (e.g. an
    #: OKH manifest's `LicenseRef-CERN`, read by a stated rule): anyone can see the rule.
    licence_as_stated: (
        Annotated[str, Field(min_length=1, max_length=MAX_LICENCE_CHARS), AfterValidator(_one_line)]
        | None
    )
    licensors: Annotated[list[Person], Field(max_length=MAX_LICENSORS), AfterValidator(_unique)]
    organisation: Person | None
    language: Annotated[str, Field(max_length=MAX_LANGUAGE_CHARS, pattern=_LANGUAGE)] | None
    files: Annotated[list[FileEntry], Field(max_length=MAX_FILES)]
    links: Annotated[list[Link], Field(max_length=MAX_LINKS), AfterValidator(_unique)]
    derived_from: Annotated[list[Bytes32], Field(max_length=MAX_PARENTS), AfterValidator(_unique)]
    tags: Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(_sorted_unique)]
    processes: Annotated[
        list[Process], Field(max_length=MAX_PROCESSES), AfterValidator(_sorted_unique)
    ]
    materials: Annotated[
        list[Material], Field(max_length=MAX_MATERIALS), AfterValidator(_sorted_unique)
    ]
    outer_dimensions_um: Size_um | None
    oshwa_uid: Annotated[str, Field(pattern=_OSHWA_UID)] | None

    @model_validator(mode="after")
    def _paths_are_unique(self) -> DesignBody:
        paths = [f.path for f in self.files]
        if len(set(paths)) != len(paths):
            raise ValueError("files: two files have the same path")
        if self.supersedes is not None and self.supersedes in self.derived_from:
            raise ValueError("supersedes: the previous version is not also a parent")
        return self


class WithdrawBody(StrictBody):
    """design.withdraw — the author takes one version of its design down (specs/0010 §7).

    Views honour it only when its author is the design's author; the design entry and
    this one both stay in the ledger (lineage keeps naming the design)."""

    design: Bytes32
    reason: Annotated[
        str, Field(min_length=1, max_length=MAX_REASON_CHARS), AfterValidator(_one_line)
    ]


Count = Annotated[int, Field(ge=0, le=2**63 - 1)]


class Findings(StrictBody):
    """What one mesh measures for print-readiness (specs/0010 §3.3); null where a check
    was not made (over the bound, or shells not closed and consistently wound)."""

    open_edges: Count
    non_manifold_edges: Count
    degenerate_faces: Count
    winding_errors: Count
    shells: Count | None
    overlapping_shells: bool | None
    solid_volume_mm3: Count | None
    thinnest_wall_um: Count | None
    wall_rays: Count
    overhang_permille: Annotated[int, Field(ge=0, le=1000)]

    @model_validator(mode="after")
    def _solid_with_overlap(self) -> Findings:
        if (self.overlapping_shells is None) != (self.solid_volume_mm3 is None):
            raise ValueError("solid_volume_mm3 is given exactly when overlapping_shells is")
        return self


class MeshReadiness(StrictBody):
    """The findings of one mesh file of the design, named by its SHA-256."""

    sha256: Bytes32
    readiness: Findings


#: Most meshes one design.readiness entry carries: 128 of the largest findings encode in
#: about 36 KB, well within an entry (a design's 256 files take two entries).
MAX_READINESS_FILES: Final = 128


class ReadinessBody(StrictBody):
    """design.readiness — the design's author publishes what its meshes measure
    (specs/0010 §3.5): files sorted by hash, each once."""

    design: Bytes32
    files: Annotated[list[MeshReadiness], Field(min_length=1, max_length=MAX_READINESS_FILES)]

    @model_validator(mode="after")
    def _files_sorted(self) -> ReadinessBody:
        hashes = [f.sha256 for f in self.files]
        if hashes != sorted(set(hashes)):
            raise ValueError("files: sorted by sha256, each once")
        return self


def design_body_map(body: DesignBody) -> dict[str, Any]:
    """The body as the map an entry carries: every field, nil where absent."""
    return body.model_dump()


KINDS: tuple[KindSpec, ...] = (
    KindSpec(DESIGN, DesignBody),
    KindSpec(WITHDRAW, WithdrawBody),
    KindSpec(READINESS, ReadinessBody),
)
