"""A quote as people read it: the price, how it was computed, and the numbers behind
it (specs/0011 §5.4-5.5): `€6.56 by slicer (PrusaSlicer 2.5.0: 17m 36s, 3.88 g PLA;
0.20 mm layers, 20 % infill, 2 perimeters)` or `€5.62 by volume model (8000 mm³ at
15000 mm³/h; no slicer on this node)`. Pure but for the money's locale (node.cli.money).
"""

from __future__ import annotations

from typing import Any, Final

from node.cli.money import money_text
from node.i18n import N_, _, current

#: What each fallback reason of specs/0011 §5.5 means to a reader.
FALLBACK_TEXT: Final = {
    "no-settings": N_("the lab publishes no slicer settings"),
    "not-sliced": N_("not sliced"),
    "no-slicer": N_("no slicer on this node"),
    "no-mesh": N_("no mesh to slice"),
    "mesh-not-held": N_("the mesh is not on this node"),
    "slicer-failed": N_("the slicer failed"),
    "slicer-timeout": N_("the slicer timed out"),
    "slice-budget": N_("too many parts to slice at once"),
}


def duration_text(seconds: int) -> str:
    """`1h 02m 05s`, `17m 36s`, `45s`."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def _grams(mg: int) -> str:
    return f"{current().number(mg // 10 / 100, 2)} g"


def basis_text(quote: dict[str, Any]) -> str:
    """How the quote was computed, and why by volume when it was."""
    basis = quote.get("basis") or {}
    if quote.get("method") == "slicer":
        s = basis["settings"]
        layer = current().number(s["layer_height_um"] / 1000, 2)
        supports = _(", supports") if s["supports"] else ""
        return _(
            "by slicer ({slicer}: {duration}, {filament} {material}; {layer} mm layers, "
            "{infill} infill, {perimeters} perimeters{supports})"
        ).format(
            slicer=basis["slicer"],
            duration=duration_text(basis["print_seconds"]),
            filament=_grams(basis["filament_mg"]),
            material=s["material"],
            layer=layer,
            infill=f"{s['infill_percent']} %",
            perimeters=s["perimeters"],
            supports=supports,
        )
    fallback = quote.get("fallback") or {}
    reason = fallback.get("reason", "")
    why = _(FALLBACK_TEXT[reason]) if reason in FALLBACK_TEXT else reason
    if fallback.get("detail"):
        why = f"{why}: {fallback['detail']}"
    volume = _("{volume} mm³ at {throughput} mm³/h").format(
        volume=basis.get("volume_mm3"), throughput=basis.get("throughput_mm3_per_hour")
    )
    if why:
        return _("by volume model ({volume}; {why})").format(volume=volume, why=why)
    return _("by volume model ({volume})").format(volume=volume)


def quote_text(quote: dict[str, Any]) -> str:
    """The total as money, then how it was computed."""
    return f"{money_text(int(quote['total_minor']), str(quote['currency']))} {basis_text(quote)}"
