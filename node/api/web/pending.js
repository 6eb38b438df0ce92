// Shown when this node does not serve a feature's routes (an older node build).
import { h } from "./ui.js";
import { t } from "./i18n.js";

export function notOnThisNode(view, title, what) {
  view.append(h("h1", {}, title),
    h("p", { class: "card", role: "status" }, t("pending.not-served", { what })));
}
