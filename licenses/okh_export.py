"""A design as an OKH-LOSH TOML manifest (specs/0010-designs.md §5.3).

`export_losh_toml` writes the keys of the OKH-LOSH specification in kebab-case, one
key per kind of reference (a string when there is one, a list when several), the
outer dimensions as an OpenSCAD `cube`, the OSHWA UID as its certificate URL
(`attestation`), `tsdc:`/`cpc:` tags as `tsdc` and `cpc-patent-class`. What
OKH-LOSH has no key for goes under keys of our own, which other readers ignore:
`fabcommons-tags`, `fabcommons-processes`, `fabcommons-materials` and
`[[fabcommons-link]]` tables (homepage, documentation). A design without a version is
written `UNVERSIONED`, as the LOSH list writes it. Files are written as their paths.

Guarantee: licenses.okh.import_losh_toml of the output gives the same draft back.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from licenses.okh_draft import DesignDraft, draft_from_body
from licenses.okh_reader import LOSH_REFERENCES
from protocol.design import DesignBody

OKHV: Final = "OKH-LOSHv1.0"
OSHWA_URL: Final = "https://certification.oshwa.org/{}.html"

# Reference rels with an OKH-LOSH key of their own, in the order they are written.
_REL_KEYS: Final = tuple((rel, key) for key, rel in LOSH_REFERENCES if key != "repo")
_OWN_LINK_RELS: Final = ("homepage", "documentation")


def export_losh_toml(design: DesignDraft | DesignBody) -> str:
    """The OKH-LOSH TOML manifest of a draft or a design body (module docstring)."""
    draft = design if isinstance(design, DesignDraft) else draft_from_body(design, source="")
    targets: dict[str, list[str]] = {}
    for ref in draft.references:
        targets.setdefault(ref.rel, []).append(ref.target)
    lines = [_pair("okhv", OKHV), _pair("name", draft.name)]
    lines += _values("repo", targets.get("repo", []))
    lines.append(_pair("version", draft.version or "UNVERSIONED"))
    lines.append(_pair("license", draft.licence))
    lines += _values("licensor", list(draft.licensors))
    if draft.organisation is not None:
        lines.append(_pair("organisation", draft.organisation))
    if draft.language is not None:
        lines.append(_pair("documentation-language", draft.language))
    lines.append(_pair("function", draft.summary))
    attestations = [OSHWA_URL.format(draft.oshwa_uid.lower())] if draft.oshwa_uid else []
    lines += _values("attestation", attestations + targets.get("attestation", []))
    lines += _values("tsdc", [t.removeprefix("tsdc:") for t in draft.tags if t[:5] == "tsdc:"])
    cpc = [t.removeprefix("cpc:") for t in draft.tags if t[:4] == "cpc:"]
    lines += _values("cpc-patent-class", cpc)
    for rel, key in _REL_KEYS:
        lines += _values(key, targets.get(rel, []))
    other_tags = [t for t in draft.tags if t[:5] != "tsdc:" and t[:4] != "cpc:"]
    lines += _values("fabcommons-tags", other_tags, always_list=True)
    lines += _values("fabcommons-processes", list(draft.processes), always_list=True)
    lines += _values("fabcommons-materials", list(draft.materials), always_list=True)
    if draft.outer_dimensions_um is not None:
        x, y, z = (_mm(v) for v in draft.outer_dimensions_um)
        lines += ["", "[outer-dimensions]", _pair("openSCAD", f"cube(size = [{x},{y},{z}])")]
        lines.append(_pair("unit", "mm"))
    for rel, key in (("software", "release"), ("software-guide", "installation-guide")):
        for target in targets.get(rel, []):
            lines += ["", "[[software]]", _pair(key, target)]
    for rel in _OWN_LINK_RELS:
        for target in targets.get(rel, []):
            lines += ["", "[[fabcommons-link]]", _pair("rel", rel), _pair("url", target)]
    return "\n".join(lines) + "\n"


def _values(key: str, values: Sequence[str], *, always_list: bool = False) -> list[str]:
    if not values:
        return []
    if len(values) == 1 and not always_list:
        return [_pair(key, values[0])]
    return [f"{key} = [" + ", ".join(_string(v) for v in values) + "]"]


def _pair(key: str, value: str) -> str:
    return f"{key} = {_string(value)}"


def _string(text: str) -> str:
    """A TOML basic string (TOML 1.0 §String): `"` and `\\` escaped, control characters
    as escapes, everything else as itself."""
    out = []
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _mm(um: int) -> str:
    """Micrometres as a decimal number of millimetres: 22500 → `22.5`."""
    whole, rest = divmod(um, 1000)
    return str(whole) if rest == 0 else f"{whole}.{rest:03d}".rstrip("0")
