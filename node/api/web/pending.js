// Shown when this node does not serve a feature's routes (an older node build).
import { h } from "./ui.js";

export function notOnThisNode(view, title, what) {
  view.append(h("h1", {}, title),
    h("p", { class: "card", role: "status" }, `This node does not serve ${what} yet: its API answered 404. Upgrade the node to use this page.`));
}
