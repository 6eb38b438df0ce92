// Notifications: the nav badge (unread count, live from `notification` events), the
// browser's Notification API (opt-in, kept for this browser), the list (read and
// unread), the settings form (validated here as the API does; the API's typed error
// is shown beside its field) and the delivery log (README "Notifications").
import { api, get, optional, post } from "./api.js";
import { busy, errorBox, h, replace, when } from "./ui.js";
import { t } from "./i18n.js";
import * as checks from "./checks.js";
import { submitChecked } from "./checks.js";

const OPT_IN = "fabcommons.browser-notifications";
// The kinds a person may be told of (node/store/notifications.py), in the reader's words.
const kinds = () => ({
  "job-near": t("notify.kind.job-near"), "job-bid": t("notify.kind.job-bid"), "job-counter": t("notify.kind.job-counter"),
  "job-award": t("notify.kind.job-award"), "job-step": t("notify.kind.job-step"), "job-message": t("notify.kind.job-message"),
  "proposal-open": t("notify.kind.proposal-open"), "proposal-closing": t("notify.kind.proposal-closing"),
  application: t("notify.kind.application"), fork: t("notify.kind.fork"),
});
// node/store/notifications.py's limits and grammars (whole-text).
const EMAIL = /^[^@\s<>,;:"]{1,64}@[A-Za-z0-9.-]{1,253}$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])$/;
const MIN_SECRET = 16;
const MAX_WEBHOOKS = 8;
const MAX_RECIPIENTS = 16;
const MAX_RADIUS_KM = 20038;

function showUnread(n) {
  const badge = document.getElementById("notify-badge");
  if (!badge) return;
  badge.textContent = String(n);
  badge.hidden = !n;
  badge.setAttribute("aria-label", t("notify.unread-label", { count: n }));
}

// Once per page load: the badge and the browser notifications follow the event stream.
export async function notificationBadge() {
  const first = await optional("/api/v1/notifications?limit=1").catch(() => null);
  if (first === null) return;  // a node without notifications
  showUnread(first.unread);
  window.addEventListener("fab:notification", (e) => {
    showUnread(e.detail.unread);
    const n = e.detail.notification;
    if (n && localStorage.getItem(OPT_IN) === "yes" && "Notification" in window && Notification.permission === "granted") {
      new Notification(n.title, { body: n.text, tag: `fab-${n.id}` });
    }
  });
}

export async function notificationsPage(view) {
  const list = h("div", { id: "notification-list" });
  const out = h("div", { "aria-live": "polite" });
  const refresh = async () => {
    try {
      const r = await get("/api/v1/notifications?limit=100");
      showUnread(r.unread);
      replace(list, renderList(r, refresh, out));
    } catch (e) { replace(list, errorBox(e)); }
  };
  const settings = h("section", { class: "card", "aria-labelledby": "notify-settings-h" });
  const log = h("section", { class: "card", id: "delivery-log", "aria-labelledby": "delivery-h" });
  view.append(h("h1", {}, t("nav.notifications")), browserOptIn(), list, out, settings, log);
  await Promise.all([refresh(), renderSettings(settings), renderLog(log)]);
  const onEvent = () => { refresh(); renderLog(log); };
  const onDelivery = () => renderLog(log);
  window.addEventListener("fab:notification", onEvent);
  window.addEventListener("fab:delivery", onDelivery);
  return () => { window.removeEventListener("fab:notification", onEvent); window.removeEventListener("fab:delivery", onDelivery); };
}

function renderList(r, refresh, out) {
  const all = h("button", { type: "button", class: "secondary", id: "read-all", disabled: !r.unread,
    onclick: () => busy(all, out, async () => { await post("/api/v1/notifications/read"); await refresh(); }) }, t("notify.mark-all"));
  if (!r.notifications.length) return [h("p", { class: "muted" }, t("notify.none"))];
  return [
    h("p", {}, t("notify.unread", { count: r.unread }), " ", all),
    h("ul", { class: "results" }, r.notifications.map((n) => {
      const mark = h("button", { type: "button", class: "secondary", "data-read": n.id,
        onclick: () => busy(mark, out, async () => { await post(`/api/v1/notifications/${n.id}/read`); await refresh(); }) }, t("notify.mark"));
      return h("li", { class: "card notification", "data-id": n.id, "data-kind": n.kind, "data-read": n.read ? "yes" : "no" },
        h("p", {}, n.read ? null : h("span", { class: "badge bad" }, t("notify.unread-badge")), " ",
          h("a", { href: n.link }, h("strong", {}, n.title)), " ", h("span", { class: "muted" }, n.text)),
        h("p", { class: "muted inline" }, when(n.created_ms), n.read ? null : mark));
    })),
  ];
}

function browserOptIn() {
  const state = h("span", { class: "muted", id: "browser-notify-state" });
  const button = h("button", { type: "button", class: "secondary", id: "browser-notify" });
  const paint = () => {
    const on = localStorage.getItem(OPT_IN) === "yes" && "Notification" in window && Notification.permission === "granted";
    button.textContent = on ? t("notify.browser.stop") : t("notify.browser.show");
    state.textContent = !("Notification" in window) ? t("notify.browser.none")
      : Notification.permission === "denied" ? t("notify.browser.blocked") : on ? t("notify.browser.on") : t("notify.browser.off");
  };
  button.addEventListener("click", async () => {
    if (localStorage.getItem(OPT_IN) === "yes") localStorage.removeItem(OPT_IN);
    else if ("Notification" in window && (await Notification.requestPermission()) === "granted") localStorage.setItem(OPT_IN, "yes");
    paint();
  });
  paint();
  return h("p", { class: "inline" }, button, state);
}

// The delivery log: each attempt (sent, failed with the next try, gave-up, dropped) and
// what each channel's outbox holds now. A server that does not answer shows here as
// failed attempts and waiting deliveries; the node goes on answering meanwhile.
async function renderLog(section) {
  try {
    const r = await get("/api/v1/notifications/deliveries?limit=20");
    const boxes = Object.entries(r.outboxes || {}).map(([channel, o]) => h("li", { "data-channel": channel, "data-pending": o.pending },
      h("strong", {}, channel === "email" ? t("notify.email") : t("notify.webhooks")),
      ": ", t("notify.outbox", { pending: o.pending, sent: o.sent, failed: o.failed, dropped: o.dropped })));
    replace(section, h("h2", { id: "delivery-h" }, t("notify.log")),
      h("ul", { id: "outboxes", class: "muted" }, boxes),
      r.deliveries.length ? h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, [t("keys.col.when"), t("notify.col.channel"), t("mine.to"), "#", t("notify.col.attempt"), t("notify.col.outcome")].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, r.deliveries.map((d) => h("tr", { "data-outcome": d.outcome, "data-channel": d.channel },
          h("td", {}, when(d.at_ms)), h("td", {}, d.channel), h("td", {}, h("code", {}, d.target)),
          h("td", {}, String(d.notification)), h("td", {}, String(d.attempt)),
          h("td", {}, h("span", { class: `badge ${d.outcome === "sent" ? "ok" : "bad"}` }, outcomeName(d.outcome)), " ", d.detail))))))
        : h("p", { class: "muted" }, t("notify.log.none")));
  } catch (e) { replace(section, errorBox(e)); }
}

const outcomeName = (outcome) => ({ sent: t("notify.outcome.sent"), failed: t("notify.outcome.failed"),
  "gave-up": t("notify.outcome.gave-up"), dropped: t("notify.outcome.dropped") })[outcome] || outcome;

function field(id, label, attrs, hint) {
  const input = h("input", { id, name: id, ...attrs });
  const error = h("span", { class: "error field-error", id: `${id}-error`, "aria-live": "polite" });
  input.setAttribute("aria-describedby", `${id}-error`);
  return { input, error, row: h("label", { for: id }, label, input, hint ? h("span", { class: "muted" }, hint) : null, error) };
}

// One webhook's fieldset: its URL, its secret (kept when left empty), the kinds it is
// sent (none ticked: every kind chosen above), and a button that removes it.
function webhookFields(list, hook, onRemove) {
  const n = list.children.length;
  const key = `webhook-${Date.now().toString(36)}${n}`;
  const url = field(`${key}-url`, t("notify.hook.url"), { type: "url", value: hook.url || "", placeholder: "https://…", class: "webhook-url", required: true });
  const secret = field(`${key}-secret`, t("notify.hook.secret"), { type: "password", autocomplete: "new-password", class: "webhook-secret" },
    hook.secret_set ? t("notify.secret-set") : t("notify.at-least", { min: MIN_SECRET }));
  const events = Object.entries(kinds()).map(([k, label]) => h("label", { class: "check" },
    h("input", { type: "checkbox", name: `${key}-event`, value: k, checked: (hook.events || []).includes(k) }), label));
  const remove = h("button", { type: "button", class: "secondary", "data-action": "remove-webhook" }, t("notify.hook.remove"));
  const set = h("fieldset", { class: "webhook card" }, h("legend", {}, hook.url ? t("notify.hook.named", { url: hook.url }) : t("notify.hook.new")),
    url.row, secret.row,
    h("fieldset", { class: "webhook-events" }, h("legend", {}, t("notify.hook.events")), events), remove);
  remove.addEventListener("click", () => { set.remove(); onRemove(); });
  set.read = () => ({ url, secret, hadSecret: hook.secret_set && hook.url,
    events: events.map((l) => l.querySelector("input")).filter((i) => i.checked).map((i) => i.value) });
  return set;
}

async function renderSettings(section) {
  const s = await get("/api/v1/notifications/settings");
  const smtp = s.smtp || { host: "", port: 587, security: "starttls", user: "", from_addr: "", to: [] };
  const chosen = Object.entries(kinds()).map(([k, label]) => h("label", { class: "check" },
    h("input", { type: "checkbox", name: "kind", value: k, checked: s.kinds.includes(k) }), label));
  const f = {
    radius: field("notify-radius", t("notify.radius"), { type: "number", min: 1, max: MAX_RADIUS_KM, step: 1, required: true, value: s.radius_km, "data-field": "radius_km" }),
    host: field("smtp-host", t("notify.smtp.host"), { value: smtp.host || "", autocomplete: "off", maxlength: 253, "data-field": "smtp.host" }, t("notify.smtp.host-hint")),
    port: field("smtp-port", t("notify.smtp.port"), { type: "number", min: 1, max: 65535, value: smtp.port, "data-field": "smtp.port" }),
    user: field("smtp-user", t("notify.smtp.user"), { value: smtp.user || "", autocomplete: "off", maxlength: 256, "data-field": "smtp.security" }),
    password: field("smtp-password", t("notify.smtp.password"), { type: "password", autocomplete: "new-password", maxlength: 1024, "data-field": "smtp.password" },
      s.smtp && s.smtp.password_set ? t("notify.secret-set") : t("notify.smtp.password-hint")),
    from: field("smtp-from", t("notify.smtp.from"), { type: "email", value: smtp.from_addr || "", maxlength: 320, "data-field": "smtp.from_addr" }),
    to: field("smtp-to", t("notify.smtp.to"), { value: (smtp.to || []).join(", "), "data-field": "smtp.to" }),
  };
  const security = h("select", { id: "smtp-security", name: "smtp-security" },
    ["starttls", "ssl", "none"].map((v) => h("option", { value: v, selected: v === smtp.security }, v === "none" ? t("notify.smtp.plain") : v)));
  const hooks = h("div", { id: "webhooks", class: "stack" });
  const add = h("button", { type: "button", class: "secondary", id: "add-webhook" }, t("notify.hook.add"));
  const numberHooks = () => {
    [...hooks.children].forEach((set, i) => {
      set.querySelector(".webhook-url").dataset.field = `webhooks.${i}.url`;
      set.querySelector(".webhook-secret").dataset.field = `webhooks.${i}.secret`;
    });
    add.disabled = hooks.children.length >= MAX_WEBHOOKS;
  };
  const addHook = (hook) => { hooks.append(webhookFields(hooks, hook, numberHooks)); numberHooks(); };
  s.webhooks.forEach(addHook);
  add.addEventListener("click", () => { addHook({}); hooks.lastElementChild.querySelector(".webhook-url").focus(); });
  const out = h("div", { "aria-live": "polite", id: "notify-settings-out" });
  const save = h("button", { type: "submit", id: "notify-save" }, t("notify.save"));
  const check = () => {
    const radius = checks.integer(f.radius.input, 1, MAX_RADIUS_KM);
    const body = { kinds: chosen.map((l) => l.querySelector("input")).filter((i) => i.checked).map((i) => i.value), radius_km: radius, smtp: null, webhooks: [] };
    const host = f.host.input.value.trim();
    if (host) {
      if (!HOST.test(host)) checks.fail(f.host.input, t("notify.check.host"));
      const to = f.to.input.value.split(",").map((a) => a.trim()).filter(Boolean);
      const port = checks.integer(f.port.input, 1, 65535);
      if (!EMAIL.test(f.from.input.value.trim())) checks.fail(f.from.input, t("notify.check.email"));
      if (!to.length || to.length > MAX_RECIPIENTS) checks.fail(f.to.input, t("notify.check.recipients", { max: MAX_RECIPIENTS }));
      const wrong = to.find((a) => !EMAIL.test(a));
      if (wrong) checks.fail(f.to.input, t("notify.check.not-email", { address: wrong }));
      if (f.user.input.value && security.value === "none") checks.fail(f.user.input, t("notify.check.login-tls"));
      body.smtp = { host, port, security: security.value, user: f.user.input.value || null,
        password: f.password.input.value || null, from_addr: f.from.input.value.trim(), to };
    }
    const seen = new Set();
    for (const set of hooks.children) {
      const w = set.read();
      const url = w.url.input.value.trim();
      if (!/^https?:\/\/[^/\s?#]+/i.test(url)) checks.fail(w.url.input, t("notify.check.url"));
      if (seen.has(url)) checks.fail(w.url.input, t("notify.check.url-twice"));
      seen.add(url);
      const secret = w.secret.input.value;
      const kept = w.hadSecret === url;  // the stored secret stays only with the same URL
      if (!secret && !kept) checks.fail(w.secret.input, t("notify.check.secret", { min: MIN_SECRET }));
      if (secret && secret.length < MIN_SECRET) checks.fail(w.secret.input, t("notify.at-least", { min: MIN_SECRET }));
      body.webhooks.push({ url, secret: secret || null, events: w.events });
    }
    return body;
  };
  const form = h("form", { class: "stack", id: "notify-settings", novalidate: true, onsubmit: (e) => {
    e.preventDefault();
    submitChecked(form, save, out, check, async (payload) => {
      await api("PUT", "/api/v1/notifications/settings", payload);
      await renderSettings(section);
      replace(section.querySelector("#notify-settings-out"), h("p", { role: "status" }, t("notify.saved")));
    });
  } },
    h("fieldset", {}, h("legend", {}, t("notify.notify-me")), chosen), f.radius.row,
    h("fieldset", {}, h("legend", {}, t("notify.email")), f.host.row, f.port.row, h("label", { for: "smtp-security" }, t("notify.smtp.security"), security),
      f.user.row, f.password.row, f.from.row, f.to.row),
    h("fieldset", {}, h("legend", {}, t("notify.hooks", { max: MAX_WEBHOOKS })), hooks, add),
    save, out);
  replace(section, h("h2", { id: "notify-settings-h" }, t("notify.settings")), form);
}
