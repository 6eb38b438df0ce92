"""designs/manifest: reading OKH manifests into design bodies (specs/0010 §5).

Manifests are small ones written here, modelled on the real OKH-LOSH list; each
expectation is the body and paths the rows and field tables of 0010 §5 give for it, or
the row that refuses it, never read from the code under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from protocol.jsonform import to_json
from specs.vectorgen.common import Case, error, ok

BAD = "decode.bad-manifest"
LIMIT = 262_144

MINIMAL = """\
name = "Open Flow Meter"
license = "MIT"
"""

FULL = """\
okhv = "OKH-LOSHv1.0"
name = "AmboVent 1690.108"
repo = "https://github.com/AmboVent/AmboVent"
version = "0.1.0"
license = "CERN-OHL-S-2.0"
licensor = [". Jane Doe", "Jane Doe", "Ali Khan"]
organisation = "  OnyxTronix  "
readme = "README.md"
image = ["https://example.org/front.jpg", " img/side.png ", ""]
documentation-language = "English-UK"
technology-readiness-level = "OTRL-4"
function = "An automatic resuscitator.\\r\\nFor emergencies. "
cpc-patent-class = "A61H"
tsdc = ["3DP", "mec"]
bom = "https://example.org/bom.csv"
attestation = "https://certification.oshwa.org/il000001.html"
fabcommons-tags = ["medical", "\\"ventilator\\""]
fabcommons-materials = ["PETG", " "]
colour = "blue"

[outer-dimensions]
openscad = "cube([100, 50.5, 20.0004])"
unit = "mm"

[[software]]
release = "https://github.com/AmboVent/AmboVent/tree/main/3-Software"
installation-guide = "docs/install.md"

[[part]]
name = "housing"
image = "parts/housing.png"
printing-process = "FDM"
material = ["PLA", "PETG"]
tsdc = "CNC"
"""

V1 = """\
%Open Know-How Manifest 1.0
title: Solar Water Pump
description: |
  Pumps water with the sun.
intended-use: Irrigation.
keywords: pump, solar , , water
version: 1.0
license:
  hardware: CERN-OHL-W-2.0
  documentation: CC-BY-4.0
licensor:
  - name: Amina Diallo
    affiliation: Field Ready
  - Tom Baker
documentation-home: https://example.org/pump
design-files:
  - path: cad/pump.step
    title: Pump body
  - web: https://example.org/cad/lid.step
image: images/pump.jpg
documentation-language: fr
1: a key that is a number
"""


def body(**changes: Any) -> dict[str, Any]:
    b: dict[str, Any] = {
        "name": "Open Flow Meter",
        "summary": "",
        "version": None,
        "supersedes": None,
        "licence": "MIT",
        "licence_as_stated": None,
        "licensors": [],
        "organisation": None,
        "language": None,
        "files": [],
        "links": [],
        "derived_from": [],
        "tags": [],
        "processes": [],
        "materials": [],
        "outer_dimensions_um": None,
        "oshwa_uid": None,
    }
    assert set(changes) <= set(b), changes
    b.update(changes)
    return b


def _ok(result: dict[str, Any], paths: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    return ok(body=to_json(result), paths=[{"rel": r, "path": p} for r, p in paths or []])


def _case(
    name: str,
    description: str,
    text: str | bytes,
    expect: dict[str, Any],
    *,
    form: str = "okh-losh",
    override: str | None = None,
) -> Case:
    data: dict[str, Any] = {"format": form, "licence_override": override}
    if isinstance(text, bytes):
        data.update(manifest=None, manifest_hex=text.hex())
    else:
        data["manifest"] = text
    return Case("designs", "manifest", name, description, data, expect)


def _with(*lines: str, base: str = MINIMAL) -> str:
    return base + "".join(line + "\n" for line in lines)


def _edit(old: str, new: str, text: str = MINIMAL) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _padded(size: int) -> str:
    room = size - len(MINIMAL.encode()) - len("#\n")
    return MINIMAL + "#" + "x" * room + "\n"


def _happy() -> Iterator[Case]:
    yield _case(
        "losh-minimal", "A name and a licence are all a manifest needs.", MINIMAL, _ok(body())
    )
    yield _case(
        "losh-full",
        "§5.2: every kind of key, messy values rewritten, an unknown key ignored.",
        FULL,
        _ok(
            body(
                name="AmboVent 1690.108",
                summary="An automatic resuscitator.\nFor emergencies.",
                version="0.1.0",
                licence="CERN-OHL-S-2.0",
                licensors=["Jane Doe", "Ali Khan"],
                organisation="OnyxTronix",
                language="en-GB",
                links=[
                    {"rel": "repo", "url": "https://github.com/AmboVent/AmboVent"},
                    {"rel": "image", "url": "https://example.org/front.jpg"},
                    {"rel": "bom", "url": "https://example.org/bom.csv"},
                    {
                        "rel": "software",
                        "url": "https://github.com/AmboVent/AmboVent/tree/main/3-Software",
                    },
                ],
                tags=["cpc:A61H", "medical", "tsdc:3DP", "tsdc:mec", "ventilator"],
                processes=["3d-printing", "cnc-machining", "fdm"],
                materials=["PETG", "PLA"],
                outer_dimensions_um=[100_000, 50_500, 20_000],
                oshwa_uid="IL000001",
            ),
            [
                ("readme", "README.md"),
                ("image", "img/side.png"),
                ("image", "parts/housing.png"),
                ("software-guide", "docs/install.md"),
            ],
        ),
    )
    yield _case(
        "losh-key-spellings",
        "M5: camelCase, snake_case and `organization` are read as their canonical keys.",
        _with(
            'documentationLanguage = "de-Western-Europe"',
            'user_manual = "https://example.org/manual"',
            'organization = "Fab Lab Berlin"',
            'outerDimensionsMM = "sphere(5);"',
        ),
        _ok(
            body(
                language="de",
                organisation="Fab Lab Berlin",
                links=[{"rel": "user-manual", "url": "https://example.org/manual"}],
                outer_dimensions_um=[10_000, 10_000, 10_000],
            )
        ),
    )
    yield _case(
        "losh-unversioned",
        "§5.2: version UNVERSIONED, in any case, is nil.",
        _with('version = "Unversioned"'),
        _ok(body()),
    )
    yield _case(
        "losh-version-number",
        "§5.2: a version given as a float is its shortest decimal.",
        _with("version = 2.10"),
        _ok(body(version="2.1")),
    )
    yield _case(
        "losh-licence-read",
        "§5.4: a dirty licence is read by 0006 §6 and kept as stated.",
        _edit('license = "MIT"', 'license = "LicenseRef-CC BY-SA-4.0"'),
        _ok(body(licence="CC-BY-SA-4.0", licence_as_stated="LicenseRef-CC BY-SA-4.0")),
    )
    yield _case(
        "losh-licence-answered",
        "§5.4: the importer's answer replaces an unclear licence, kept as stated.",
        _edit('license = "MIT"', 'license = "LicenseRef-CERN"'),
        _ok(body(licence="CERN-OHL-S-2.0", licence_as_stated="LicenseRef-CERN")),
        override="CERN-OHL-S-2.0",
    )
    yield _case(
        "losh-cylinder-in-cm",
        "§5.5: a cylinder's largest diameter and its height, in centimetres.",
        _with('outer-dimensions-cm = "cylinder(h = 10, r1 = 1, d2 = 2.5, center = true);"'),
        _ok(body(outer_dimensions_um=[25_000, 25_000, 100_000])),
    )
    yield _case(
        "losh-dimension-half-to-even",
        "§5.5: lengths round half to even to whole micrometres.",
        _with('outer-dimensions = "cube(0.0025"'),
        _ok(body(outer_dimensions_um=[2, 2, 2])),
    )
    yield _case(
        "v1-full",
        "§5.3: an OKH v1 manifest, its directive line dropped and a number key ignored.",
        V1,
        _ok(
            body(
                name="Solar Water Pump",
                summary="Pumps water with the sun.\n\nIrrigation.",
                version="1.0",
                licence="CERN-OHL-W-2.0",
                licensors=["Amina Diallo", "Tom Baker"],
                organisation="Field Ready",
                language="fr",
                links=[
                    {"rel": "repo", "url": "https://example.org/pump"},
                    {"rel": "source", "url": "https://example.org/cad/lid.step"},
                ],
                tags=["pump", "solar", "water"],
            ),
            [("image", "images/pump.jpg"), ("source", "cad/pump.step")],
        ),
        form="okh-v1",
    )
    yield _case(
        "v1-documentation-licence",
        "§5.3: with no hardware licence, the documentation's is the licence.",
        "title: Pump\nlicense:\n  hardware: ''\n  documentation: CC-BY-4.0\n",
        _ok(body(name="Pump", licence="CC-BY-4.0")),
        form="okh-v1",
    )
    yield _case(
        "size-at-limit",
        "M1: a manifest of exactly 262,144 bytes is read.",
        _padded(LIMIT),
        _ok(body()),
    )


def _refused_document() -> Iterator[Case]:
    yield _case(
        "size-over-limit",
        "M1: a manifest of 262,145 bytes, refused before parsing.",
        _padded(LIMIT + 1),
        error("decode.too-large", field="manifest"),
    )
    yield _case(
        "not-utf8",
        "M2: bytes that are not UTF-8.",
        MINIMAL.encode() + b"#\xff\n",
        error(BAD, field="manifest"),
    )
    yield _case(
        "not-toml", "M3: text that is not TOML.", "name = = 1\n", error(BAD, field="manifest")
    )
    yield _case(
        "v1-alias",
        "M3: YAML aliases are refused.",
        "title: &t Pump\nlicense: MIT\nx: *t\n",
        error(BAD, field="manifest"),
        form="okh-v1",
    )
    yield _case(
        "v1-not-a-mapping",
        "M4: a YAML document that is a list.",
        "- title\n- license\n",
        error(BAD, field="manifest"),
        form="okh-v1",
    )
    yield _case(
        "key-twice",
        "M5: forkOf and fork-of are one key given twice.",
        _with('forkOf = "https://a.example"', 'fork-of = "https://b.example"'),
        error(BAD, field="fork-of"),
    )


def _refused_fields() -> Iterator[Case]:
    refused = [
        ("repo-not-text", "§5.2: repo is texts.", _with("repo = 5"), "repo"),
        (
            "reference-control",
            "§5.2: a target holding a control character.",
            _with('readme = "READ\\u0001ME.md"'),
            "readme",
        ),
        ("software-not-tables", "§5.2: software is tables.", _with('software = "x"'), "software"),
        (
            "link-rel-unknown",
            "§5.2: a fabcommons-link's rel is a FileEntry role.",
            _with("[[fabcommons-link]]", 'rel = "webpage"', 'url = "https://example.org"'),
            "fabcommons-link",
        ),
        (
            "two-oshwa-uids",
            "§5.2: two different OSHWA certificates.",
            _with(
                'attestation = ["https://certification.oshwa.org/de000001.html",'
                ' "http://CERTIFICATION.oshwa.org/de000002.html"]'
            ),
            "attestation",
        ),
        (
            "tag-too-long",
            "§5.2: a tag of 65 characters.",
            _with(f'fabcommons-tags = ["{"t" * 65}"]'),
            "fabcommons-tags",
        ),
        (
            "process-no-token",
            "§5.2: a process with no letter or digit.",
            _with('joining-process = "--"'),
            "joining-process",
        ),
        (
            "dimensions-twice",
            "§5.2: outer dimensions given by two keys.",
            _with('outer-dimensions-mm = "cube(1)"', 'outer-dimensions-cm = "cube(1)"'),
            "outer-dimensions-mm",
        ),
        (
            "dimensions-no-shape",
            "§5.2: an outer-dimensions table without openscad.",
            _with("[outer-dimensions]", 'unit = "mm"'),
            "outer-dimensions",
        ),
        (
            "dimensions-unknown-unit",
            "§5.5: a unit of length not in the list.",
            _with('outer-dimensions-ft = "cube(1)"'),
            "outer-dimensions-ft",
        ),
        (
            "dimensions-not-openscad",
            "§5.5: a shape that is none of cube, cylinder, sphere.",
            _with('outer-dimensions = "box(1, 2, 3)"'),
            "outer-dimensions",
        ),
        (
            "dimensions-boolean-radius",
            "§5.5: only center may be true or false.",
            _with('outer-dimensions = "sphere(r = true)"'),
            "outer-dimensions",
        ),
        (
            "dimensions-over-1-km",
            "§5.5: a length over 1 km.",
            _with('outer-dimensions-m = "cube([1000.000001, 1, 1])"'),
            "outer-dimensions-m",
        ),
        (
            "name-missing",
            "§5.2: no name.",
            _edit('name = "Open Flow Meter"\n', ""),
            "name",
        ),
        (
            "name-only-quotes",
            "§5.2: a name that is empty once its quotes are gone.",
            _edit('name = "Open Flow Meter"', "name = '\"  \"'"),
            "name",
        ),
        (
            "references-before-name",
            "M6: keys are read in the table's order: repo before name.",
            _edit('name = "Open Flow Meter"\n', "repo = true\n"),
            "repo",
        ),
        (
            "version-a-list",
            "§5.2: version is a text or a number.",
            _with("version = [1]"),
            "version",
        ),
        (
            "language-unknown",
            "§5.5: a language that is no ISO 639 code.",
            _with('documentation-language = "Klingon"'),
            "documentation-language",
        ),
        ("licence-missing", "§5.4: no licence.", _edit('license = "MIT"\n', ""), "license"),
    ]
    for name, description, text, field in refused:
        yield _case(name, description, text, error(BAD, field=field))
    yield _case(
        "licence-list",
        "§5.4: a list of licences says neither AND nor OR (0006 §6).",
        _edit('license = "MIT"', 'license = "MIT, Apache-2.0"'),
        error("decode.bad-licence", field="license"),
    )
    yield _case(
        "licence-before-language",
        "M6: the licence is read before the language.",
        _edit('license = "MIT"', 'license = "MIT/Apache-2.0"\ndocumentation-language = "Klingon"'),
        error("decode.bad-licence", field="license"),
    )
    v1 = [
        (
            "v1-licensor-a-number",
            "§5.3: a licensor that is a number.",
            "title: P\nlicense: MIT\nlicensor: 7\n",
            "licensor",
        ),
        (
            "v1-licence-table-empty",
            "§5.3: a license table with neither hardware nor documentation.",
            "title: P\nlicense:\n  software: MIT\n",
            "license",
        ),
        ("v1-title-missing", "§5.3: no title.", "name: P\nlicense: MIT\n", "title"),
        (
            "v1-path-not-text",
            "§5.3: a path table whose first non-empty target is not text.",
            "title: P\nlicense: MIT\nbom:\n  - path: ''\n    web: [x]\n",
            "bom",
        ),
    ]
    for name, description, text, field in v1:
        yield _case(name, description, text, error(BAD, field=field), form="okh-v1")


def _refused_body() -> Iterator[Case]:
    yield _case(
        "summary-too-long",
        "M7: a summary of 8,193 characters.",
        _with(f'function = "{"s" * 8193}"'),
        error(BAD, field="function"),
    )
    yield _case(
        "too-many-tags",
        "M7: 33 tags; tags are named by tsdc whatever gave them.",
        _with("fabcommons-tags = [" + ", ".join(f'"t{i:02}"' for i in range(33)) + "]"),
        error(BAD, field="tsdc"),
    )
    yield _case(
        "version-too-long",
        "M7: a version of 65 characters.",
        _with(f'version = "{"9" * 65}"'),
        error(BAD, field="version"),
    )
    yield _case(
        "link-with-space",
        "M7: a URL with a space is no link; the link's rel names it.",
        _with('bom = "https://example.org/my bom.csv"'),
        error(BAD, field="bom"),
    )
    yield _case(
        "body-field-order",
        "M7: of two bad fields, the first in §2's order is named.",
        _with(f'version = "{"9" * 65}"', f'function = "{"s" * 8193}"'),
        error(BAD, field="function"),
    )
    urls = ", ".join(f'"https://example.org/{i:02}/{"x" * 2020}"' for i in range(31))
    yield _case(
        "body-too-large",
        "M8: 31 links of about 2 KiB each: a valid body of more than 63,488 bytes.",
        _with(f"image = [{urls}]"),
        error(BAD, field="manifest"),
    )


def cases() -> Iterator[Case]:
    yield from _happy()
    yield from _refused_document()
    yield from _refused_fields()
    yield from _refused_body()
