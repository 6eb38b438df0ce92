// How a quote was computed (specs/0011 §5.4-5.5): by the slicer, with its figures and
// the lab's settings, or by the volume model, with why no slicer quote.
import { measure, number, percent, t } from "./i18n.js";

const fallbackText = (reason) => ({
  "no-settings": t("quote.fallback.no-settings"),
  "not-sliced": t("quote.fallback.not-sliced"),
  "no-slicer": t("quote.fallback.no-slicer"),
  "no-mesh": t("quote.fallback.no-mesh"),
  "mesh-not-held": t("quote.fallback.mesh-not-held"),
  "slicer-failed": t("quote.fallback.slicer-failed"),
  "slicer-timeout": t("quote.fallback.slicer-timeout"),
  "slice-budget": t("quote.fallback.slice-budget"),
})[reason];

export function duration(seconds) {
  const hours = Math.floor(seconds / 3600), minutes = Math.floor((seconds % 3600) / 60), secs = seconds % 60;
  const two = (n) => String(n).padStart(2, "0");
  if (hours) return `${hours}h ${two(minutes)}m ${two(secs)}s`;
  return minutes ? `${minutes}m ${two(secs)}s` : `${secs}s`;
}

export function quoteBasis(quote) {
  const basis = quote.basis || {};
  if (quote.method === "slicer") {
    const s = basis.settings;
    return t("quote.slicer", { slicer: basis.slicer, time: duration(basis.print_seconds),
      grams: number(basis.filament_mg / 1000, { minimumFractionDigits: 2, maximumFractionDigits: 2 }), material: s.material,
      layer: measure(s.layer_height_um / 1000, "millimeter", 2), infill: percent(s.infill_percent, 0),
      perimeters: s.perimeters, supports: s.supports ? t("slicer.supports") : "" });
  }
  const fallback = quote.fallback || {};
  let why = fallbackText(fallback.reason) || fallback.reason || "";
  if (fallback.detail) why = `${why}: ${fallback.detail}`;
  const volume = t("quote.volume", { volume: number(basis.volume_mm3), rate: number(basis.throughput_mm3_per_hour) });
  return why ? t("quote.by-volume-why", { volume, why }) : t("quote.by-volume", { volume });
}
