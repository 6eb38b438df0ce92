"""A quote as people read it: the price, how it was computed, and the numbers behind
it (specs/0011 §5.4-5.5): `€6.56 by slicer (PrusaSlicer 2.5.0: 17m 36s, 3.88 g PLA;
0.20 mm layers, 20 % infill, 2 perimeters)` or `€5.62 by volume model (8000 mm³ at
15000 mm³/h; no slicer on this node)`. Pure but for the money's locale (node.cli.money).
"""

from __future__ import annotations

from typing import Any, Final

from node.cli.money import money_text

#: What each fallback reason of specs/0011 §5.5 means to a reader.
FALLBACK_TEXT: Final = {
    "no-settings": "the lab publishes no slicer settings",
    "not-sliced": "not sliced",
    "no-slicer": "no slicer on this node",
    "no-mesh": "no mesh to slice",
    "mesh-not-held": "the mesh is not on this node",
    "slicer-failed": "the slicer failed",
    "slicer-timeout": "the slicer timed out",
    "slice-budget": "too many parts to slice at once",
}


def duration_text(seconds: int) -> str:
    """`1h 02m 05s`, `17m 36s`, `45s`."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def _grams(mg: int) -> str:
    return f"{mg // 1000}.{mg % 1000 // 10:02d} g"


def basis_text(quote: dict[str, Any]) -> str:
    """How the quote was computed, and why by volume when it was."""
    basis = quote.get("basis") or {}
    if quote.get("method") == "slicer":
        s = basis["settings"]
        layer = f"{s['layer_height_um'] / 1000:.2f}"
        supports = ", supports" if s["supports"] else ""
        return (
            f"by slicer ({basis['slicer']}: {duration_text(basis['print_seconds'])}, "
            f"{_grams(basis['filament_mg'])} {s['material']}; {layer} mm layers, "
            f"{s['infill_percent']} % infill, {s['perimeters']} perimeters{supports})"
        )
    fallback = quote.get("fallback") or {}
    why = FALLBACK_TEXT.get(fallback.get("reason", ""), fallback.get("reason", ""))
    if fallback.get("detail"):
        why = f"{why}: {fallback['detail']}"
    volume = f"{basis.get('volume_mm3')} mm³ at {basis.get('throughput_mm3_per_hour')} mm³/h"
    return f"by volume model ({volume}; {why})" if why else f"by volume model ({volume})"


def quote_text(quote: dict[str, Any]) -> str:
    """The total as money, then how it was computed."""
    return f"{money_text(int(quote['total_minor']), str(quote['currency']))} {basis_text(quote)}"
