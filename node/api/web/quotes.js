// How a quote was computed (specs/0011 §5.4-5.5): by the slicer, with its figures and
// the lab's settings, or by the volume model, with why no slicer quote.
const FALLBACK = {
  "no-settings": "the lab publishes no slicer settings",
  "not-sliced": "not sliced",
  "no-slicer": "no slicer on this node",
  "no-mesh": "no mesh to slice",
  "mesh-not-held": "the mesh is not on this node",
  "slicer-failed": "the slicer failed",
  "slicer-timeout": "the slicer timed out",
  "slice-budget": "too many parts to slice at once",
};

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
    const grams = (basis.filament_mg / 1000).toFixed(2);
    return `by slicer (${basis.slicer}): ${duration(basis.print_seconds)}, ${grams} g ${s.material}; ` +
      `${(s.layer_height_um / 1000).toFixed(2)} mm layers, ${s.infill_percent} % infill, ` +
      `${s.perimeters} perimeters${s.supports ? ", supports" : ""}`;
  }
  const fallback = quote.fallback || {};
  let why = FALLBACK[fallback.reason] || fallback.reason || "";
  if (fallback.detail) why = `${why}: ${fallback.detail}`;
  const volume = `${basis.volume_mm3} mm³ at ${basis.throughput_mm3_per_hour} mm³/h`;
  return `by volume model (${volume}${why ? `; ${why}` : ""})`;
}
