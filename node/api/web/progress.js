// Long operations (verification, sync) as progress bars, from `progress` events.
import { h } from "./ui.js";
import { t } from "./i18n.js";

export function progressDock(dock) {
  const bars = new Map();
  window.addEventListener("fab:progress", (event) => {
    const { operation, done, total } = event.detail;
    let card = bars.get(operation);
    if (!card) {
      card = h("div", { class: "card" }, h("label", {}, operation, h("progress", { max: 1, value: 0 })));
      bars.set(operation, card);
      dock.append(card);
    }
    const bar = card.querySelector("progress");
    bar.max = Math.max(total, 1);
    bar.value = done;
    bar.setAttribute("aria-valuetext", t("progress.of", { done, total }));
    if (done >= total) {
      setTimeout(() => { card.remove(); bars.delete(operation); }, 1500);
    }
  });
}
