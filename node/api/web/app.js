// The dashboard: a hash router over pages that each use only the node's API.
import { ApiError, forgetToken, get, openEvents, setToken, takeTokenFromFragment, token } from "./api.js";
import { h, replace, errorBox } from "./ui.js";
import { languagePicker, loadLanguage, t, tn, translateStatic } from "./i18n.js";
import { designsPage } from "./designs.js";
import { labsPage } from "./labs.js";
import { jobsPage } from "./jobs.js";
import { myJobsPage } from "./myjobs.js";
import { governancePage } from "./governance.js";
import { nodePage } from "./node.js";
import { progressDock } from "./progress.js";
import { notificationBadge, notificationsPage } from "./notifications.js";
import { loadNames, nameOf } from "./names.js";

// Each page's title is asked for when it is shown: the catalog is loaded by then.
const PAGES = {
  designs: [() => t("nav.designs"), designsPage],
  labs: [() => t("nav.labs"), labsPage],
  jobs: [() => t("nav.jobs"), jobsPage],
  mine: [() => t("nav.mine"), myJobsPage],
  governance: [() => t("nav.governance"), governancePage],
  node: [() => t("nav.node"), nodePage],
  notifications: [() => t("nav.notifications"), notificationsPage],
};

const main = document.getElementById("main");
let leave = null;

function askForToken(message) {
  const input = h("input", { id: "token", name: "token", type: "password", autocomplete: "off", required: true });
  const form = h("form", { class: "stack", onsubmit: (e) => { e.preventDefault(); setToken(input.value); start(); } },
    h("label", { for: "token" }, t("token.label"), input),
    h("p", { class: "muted" }, t("token.help")),
    h("button", { type: "submit" }, t("token.open")));
  replace(main, h("h1", {}, t("token.title")), message ? h("p", { class: "error", role: "alert" }, message) : null, form);
  input.focus();
}

async function show() {
  const name = (location.hash.match(/^#\/(\w+)/) || [])[1] || "designs";
  const [title, page] = PAGES[name] || PAGES.designs;
  for (const link of document.querySelectorAll("nav a[data-page]")) {
    if (link.dataset.page === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${title()} · Fab Commons`;
  if (leave) leave();
  leave = null;
  const view = h("div", { id: `page-${name}` });
  replace(main, view);
  try {
    leave = (await page(view)) || null;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) { forgetToken(); askForToken(t("token.refused")); return; }
    view.append(errorBox(e));
  }
}

async function start() {
  if (!token()) { askForToken(); return; }
  try {
    const [me] = await Promise.all([get("/api/v1/identity"), loadNames()]);
    const whoami = document.getElementById("whoami");
    // this lab's name when it has one
    whoami.replaceChildren(...tn("header.whoami", { name: nameOf(me.identity), network: me.network.name }));
    whoami.title = me.identity;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) { forgetToken(); askForToken(t("token.refused")); return; }
    replace(main, errorBox(e));
    return;
  }
  const live = document.getElementById("live");
  openEvents((state, why) => {
    live.textContent = state === "live" ? t("live.live") : t("live.offline", { why });
  });
  progressDock(document.getElementById("progress"));
  notificationBadge();
  window.addEventListener("hashchange", () => { show(); main.focus(); });
  show();
}

// The skip link moves focus without touching the address (the hash is the router's).
document.querySelector(".skip").addEventListener("click", (e) => { e.preventDefault(); main.focus(); });
takeTokenFromFragment();
await loadLanguage();
translateStatic();
document.getElementById("language-choice").append(languagePicker());
start();
