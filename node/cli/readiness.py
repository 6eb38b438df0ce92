"""Print-readiness warnings (specs/0010 §3.4) as the reader reads them.

A warning carries its `code`, `value` and `limit` and an English `text` (ledger.readiness
`describe`, what the dashboard and --json show). For the CLI's human output the same
sentence is written from the code in the reader's language, numbers in their locale;
a code this table lacks (a newer node's) keeps its English text.
"""

from __future__ import annotations

from typing import Any, Final

from node.i18n import N_, _, current

#: code -> the sentence, its {value} and {limit} already written as numbers.
SENTENCES: Final = {
    "open-mesh": N_("open mesh: {value} edges border one triangle; the volume is nominal"),
    "non-manifold": N_("{value} edges are shared by more than two triangles"),
    "degenerate-faces": N_("{value} triangles have no area"),
    "inconsistent-winding": N_(
        "{value} edges join triangles facing opposite ways (flipped normals)"
    ),
    "overlapping-shells": N_(
        "shells overlap: the volume counts their shared part twice; the solid is {value} mm³"
    ),
    "thin-wall": N_("thinnest wall about {value} mm, under this process's {limit} mm"),
    "overhangs": N_("{value} of the surface overhangs more than 45°: needs supports"),
}


def warning_text(warning: dict[str, Any]) -> str:
    """One warning's sentence in the reader's language."""
    template = SENTENCES.get(str(warning.get("code")))
    if template is None or current().language == "en":
        return str(warning["text"])  # the English sentence as the node wrote it
    return _(template).format(**_numbers(str(warning["code"]), warning))


def _numbers(code: str, warning: dict[str, Any]) -> dict[str, str]:
    tr = current()

    def written(raw: object, scale: float, decimals: int | None) -> str:
        return "?" if not isinstance(raw, int) else tr.number(raw / scale, decimals)

    if code == "thin-wall":  # micrometres, shown as millimetres
        return {"value": written(warning.get("value"), 1000, 2),
                "limit": written(warning.get("limit"), 1000, 2)}  # fmt: skip
    if code == "overhangs":  # permille, shown as a percentage in the locale's way
        raw = warning.get("value")
        return {"value": "?" if not isinstance(raw, int) else tr.percent(raw / 1000, 1)}
    return {"value": written(warning.get("value"), 1, None)}
