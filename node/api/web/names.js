// Names for ids (GET /api/v1/names): a lab's advert name or a member's application
// name, else a short id. Wherever a name is shown the id stays at hand: in the title
// (hover) and a copy button.
import { get } from "./api.js";
import { h, short } from "./ui.js";
import { t } from "./i18n.js";

let known = {};

export async function loadNames() {
  try { known = (await get("/api/v1/names")).names; } catch { /* ids stay readable */ }
  return known;
}

export function nameOf(id) {
  return known[id] || short(id, 12);
}

export function who(id) {
  const copy = h("button", { type: "button", class: "copy secondary", title: t("names.copy-title"), "aria-label": t("names.copy-label", { name: nameOf(id) }),
    onclick: () => navigator.clipboard?.writeText(id) });
  copy.textContent = t("names.copy");
  return h("span", { class: "who", "data-id": id }, h("span", { class: "name", title: id }, nameOf(id)), copy);
}
