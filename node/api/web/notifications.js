// Notifications: the nav badge (unread count, live from `notification` events), the
// browser's Notification API (opt-in, kept for this browser), the list (read and
// unread), the settings form (validated here as the API does; the API's typed error
// is shown beside its field) and the delivery log (README "Notifications").
import { ApiError, api, get, optional, post } from "./api.js";
import { busy, errorBox, h, replace, when } from "./ui.js";

const OPT_IN = "fabcommons.browser-notifications";
const KINDS = {
  "job-near": "New jobs near me", "job-bid": "Bids on my jobs", "job-counter": "Counter-offers on my bids",
  "job-award": "Awards", "job-step": "Steps on my jobs", "job-message": "Messages on my jobs",
  "proposal-open": "Proposals opened", "proposal-closing": "Proposals closing, not voted",
  application: "Admission applications", fork: "Fork alerts",
};
const EMAIL = /^[^@\s<>,;:"]{1,64}@[A-Za-z0-9.-]{1,253}$/;
const MIN_SECRET = 16;

function showUnread(n) {
  const badge = document.getElementById("notify-badge");
  if (!badge) return;
  badge.textContent = String(n);
  badge.hidden = !n;
  badge.setAttribute("aria-label", `${n} unread`);
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
  view.append(h("h1", {}, "Notifications"), browserOptIn(), list, out, settings, log);
  await Promise.all([refresh(), renderSettings(settings), renderLog(log)]);
  const onEvent = () => { refresh(); renderLog(log); };
  window.addEventListener("fab:notification", onEvent);
  return () => window.removeEventListener("fab:notification", onEvent);
}

function renderList(r, refresh, out) {
  const all = h("button", { type: "button", class: "secondary", id: "read-all", disabled: !r.unread,
    onclick: () => busy(all, out, async () => { await post("/api/v1/notifications/read"); await refresh(); }) }, "Mark all read");
  if (!r.notifications.length) return [h("p", { class: "muted" }, "No notifications yet.")];
  return [
    h("p", {}, `${r.unread} unread `, all),
    h("ul", { class: "results" }, r.notifications.map((n) => {
      const mark = h("button", { type: "button", class: "secondary", "data-read": n.id,
        onclick: () => busy(mark, out, async () => { await post(`/api/v1/notifications/${n.id}/read`); await refresh(); }) }, "Mark read");
      return h("li", { class: "card notification", "data-id": n.id, "data-kind": n.kind, "data-read": n.read ? "yes" : "no" },
        h("p", {}, n.read ? null : h("span", { class: "badge bad" }, "unread"), " ",
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
    button.textContent = on ? "Stop browser notifications" : "Show browser notifications";
    state.textContent = !("Notification" in window) ? "This browser has no notifications."
      : Notification.permission === "denied" ? "Blocked in this browser's settings." : on ? "On for this browser." : "Off.";
  };
  button.addEventListener("click", async () => {
    if (localStorage.getItem(OPT_IN) === "yes") localStorage.removeItem(OPT_IN);
    else if ("Notification" in window && (await Notification.requestPermission()) === "granted") localStorage.setItem(OPT_IN, "yes");
    paint();
  });
  paint();
  return h("p", { class: "inline" }, button, state);
}

async function renderLog(section) {
  try {
    const r = await get("/api/v1/notifications/deliveries?limit=20");
    replace(section, h("h2", { id: "delivery-h" }, "Delivery log"),
      r.deliveries.length ? h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, ["When", "Channel", "To", "#", "Attempt", "Outcome"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, r.deliveries.map((d) => h("tr", { "data-outcome": d.outcome },
          h("td", {}, when(d.at_ms)), h("td", {}, d.channel), h("td", {}, h("code", {}, d.target)),
          h("td", {}, String(d.notification)), h("td", {}, String(d.attempt)),
          h("td", {}, h("span", { class: `badge ${d.outcome === "sent" ? "ok" : "bad"}` }, d.outcome), " ", d.detail))))))
        : h("p", { class: "muted" }, "Nothing delivered yet (e-mail and webhooks are set below)."));
  } catch (e) { replace(section, errorBox(e)); }
}

function field(id, label, attrs, hint) {
  const input = h("input", { id, name: id, ...attrs });
  const error = h("span", { class: "error", id: `${id}-error`, "aria-live": "polite" });
  input.setAttribute("aria-describedby", `${id}-error`);
  return { input, error, row: h("label", { for: id }, label, input, hint ? h("span", { class: "muted" }, hint) : null, error) };
}

async function renderSettings(section) {
  const s = await get("/api/v1/notifications/settings");
  const smtp = s.smtp || { host: "", port: 587, security: "starttls", user: "", from_addr: "", to: [] };
  const kinds = Object.entries(KINDS).map(([k, label]) => h("label", { class: "check" },
    h("input", { type: "checkbox", name: "kind", value: k, checked: s.kinds.includes(k) }), label));
  const f = {
    radius: field("notify-radius", "Radius of “jobs near me” (km)", { type: "number", min: 1, max: 20038, step: 1, required: true, value: s.radius_km }),
    host: field("smtp-host", "SMTP server", { value: smtp.host || "", autocomplete: "off" }, "Empty: no e-mail."),
    port: field("smtp-port", "Port", { type: "number", min: 1, max: 65535, value: smtp.port }),
    user: field("smtp-user", "Login", { value: smtp.user || "", autocomplete: "off" }),
    password: field("smtp-password", "Password", { type: "password", autocomplete: "new-password" },
      s.smtp && s.smtp.password_set ? "Set; leave empty to keep it." : "Stored 0600 in the node's home."),
    from: field("smtp-from", "From", { type: "email", value: smtp.from_addr || "" }),
    to: field("smtp-to", "To (comma-separated)", { value: (smtp.to || []).join(", ") }),
    url: field("webhook-url", "Webhook URL", { type: "url", value: s.webhooks[0] ? s.webhooks[0].url : "", placeholder: "https://…" }, "Empty: no webhook."),
    secret: field("webhook-secret", "Webhook secret (HMAC-SHA256)", { type: "password", autocomplete: "new-password" },
      s.webhooks[0] && s.webhooks[0].secret_set ? "Set; leave empty to keep it." : `At least ${MIN_SECRET} characters.`),
  };
  const security = h("select", { id: "smtp-security", name: "smtp-security" },
    ["starttls", "ssl", "none"].map((v) => h("option", { value: v, selected: v === smtp.security }, v)));
  const out = h("div", { "aria-live": "polite", id: "notify-settings-out" });
  const save = h("button", { type: "submit", id: "notify-save" }, "Save settings");
  const clear = () => { for (const x of Object.values(f)) { x.error.textContent = ""; x.input.removeAttribute("aria-invalid"); } };
  const fail = (key, message) => { f[key].error.textContent = message; f[key].input.setAttribute("aria-invalid", "true"); f[key].input.focus(); return null; };
  const body = () => {
    clear();
    const radius = Number(f.radius.input.value);
    if (!Number.isInteger(radius) || radius < 1 || radius > 20038) return fail("radius", "A whole number from 1 to 20038.");
    const out = { kinds: kinds.map((l) => l.querySelector("input")).filter((i) => i.checked).map((i) => i.value), radius_km: radius, smtp: null, webhooks: [] };
    if (f.host.input.value.trim()) {
      const to = f.to.input.value.split(",").map((a) => a.trim()).filter(Boolean);
      const port = Number(f.port.input.value);
      if (!Number.isInteger(port) || port < 1 || port > 65535) return fail("port", "A port from 1 to 65535.");
      if (!EMAIL.test(f.from.input.value.trim())) return fail("from", "Not an e-mail address.");
      if (!to.length || to.some((a) => !EMAIL.test(a))) return fail("to", "One or more e-mail addresses, comma-separated.");
      if (f.user.input.value && security.value === "none") return fail("user", "A login needs ssl or starttls.");
      out.smtp = { host: f.host.input.value.trim(), port, security: security.value, user: f.user.input.value || null,
        password: f.password.input.value || null, from_addr: f.from.input.value.trim(), to };
    }
    const url = f.url.input.value.trim();
    if (url) {
      if (!/^https?:\/\/[^/\s]+/i.test(url)) return fail("url", "An http:// or https:// URL.");
      const kept = s.webhooks.some((w) => w.url === url && w.secret_set);
      if (!f.secret.input.value && !kept) return fail("secret", `A secret of at least ${MIN_SECRET} characters.`);
      if (f.secret.input.value && f.secret.input.value.length < MIN_SECRET) return fail("secret", `At least ${MIN_SECRET} characters.`);
      out.webhooks = [{ url, secret: f.secret.input.value || null }];
    }
    return out;
  };
  // The API's `field` (e.g. "webhooks.0.url", "smtp.to.1") -> the form's input.
  const FIELD = { radius_km: "radius", "smtp.host": "host", "smtp.port": "port", "smtp.security": "user", "smtp.from_addr": "from",
    "smtp.to": "to", "webhooks.0.url": "url", "webhooks.0.secret": "secret", webhooks: "url" };
  const form = h("form", { class: "stack", id: "notify-settings", novalidate: true, onsubmit: (e) => {
    e.preventDefault();
    const payload = body();
    if (!payload) return;
    busy(save, out, async () => {
      try {
        await api("PUT", "/api/v1/notifications/settings", payload);
      } catch (err) {
        const where = err instanceof ApiError && err.field ? (FIELD[err.field] || FIELD[err.field.replace(/\.\d+$/, "")] || FIELD[err.field.replace(/^body\./, "")]) : null;
        if (where) { fail(where, `${err.code}: ${err.message}`); return; }
        throw err;
      }
      await renderSettings(section);
      replace(section.querySelector("#notify-settings-out"), h("p", { role: "status" }, "Saved."));
    });
  } },
    h("fieldset", {}, h("legend", {}, "Notify me of"), kinds), f.radius.row,
    h("fieldset", {}, h("legend", {}, "E-mail"), f.host.row, f.port.row, h("label", { for: "smtp-security" }, "Security", security),
      f.user.row, f.password.row, f.from.row, f.to.row),
    h("fieldset", {}, h("legend", {}, "Webhook"), f.url.row, f.secret.row),
    save, out);
  replace(section, h("h2", { id: "notify-settings-h" }, "Settings"), form);
}
