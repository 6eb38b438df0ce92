// The Node page's keys panel: the signing key in force, the key history, rotating the
// key and revoking a stolen one with the recovery key (README "Keys"). Both actions
// sign a permanent entry, so each asks for a confirmation in the page first. The
// recovery key file is read in the browser and sent once over the local API, which
// never stores it; the file input is cleared afterwards.
import { get, optional, post } from "./api.js";
import { busy, errorBox, h, replace, short, when } from "./ui.js";
import { t, tn } from "./i18n.js";
import * as checks from "./checks.js";
import { clearFieldErrors, showFieldError } from "./checks.js";

// `onChange`: what else to refresh after this panel signed a key event (the page).
export function keysPanel(onChange = async () => {}) {
  const shown = h("div", {});
  const out = h("div", { "aria-live": "polite", id: "keys-out" });
  const actions = h("div", {});
  const panel = h("section", { class: "card", id: "keys", "aria-labelledby": "keys-h" },
    h("h2", { id: "keys-h" }, t("keys.title")), shown, actions, out);
  const refresh = async () => {
    try {
      const keys = await optional("/api/v1/keys");
      if (keys === null) { replace(shown, h("p", { class: "muted" }, t("keys.no-routes"))); return; }
      replace(shown, render(keys));
      if (!actions.firstChild) replace(actions, rotateControl(out, changed), revokeForm(out, changed));
    } catch (e) { replace(shown, errorBox(e)); }
  };
  const changed = () => Promise.all([refresh(), onChange()]);
  return { panel, refresh };
}

function render(k) {
  return [
    k.warnings.length ? h("div", { class: "alert", role: "alert", id: "key-warnings" },
      h("ul", {}, k.warnings.map((w) => h("li", {}, w)))) : null,
    h("p", {}, tn("keys.in-force", { key: h("code", { id: "key-in-force", title: k.signing_key }, short(k.signing_key, 16)), seq: String(k.since_seq) }),
      k.home_key_in_force ? null : h("span", { class: "badge bad" }, " ", t("keys.not-home"))),
    h("p", {}, t("keys.recovery"), " ", h("code", { title: k.recovery_key }, short(k.recovery_key, 16)), " ",
      k.recovery_key_in_home ? h("span", { class: "badge bad" }, t("keys.recovery-in-home"))
        : h("span", { class: "badge ok" }, t("keys.recovery-offline"))),
    k.history.length ? h("div", { class: "table-wrap" }, h("table", { id: "key-history" },
      h("caption", { class: "muted" }, t("keys.history")),
      h("thead", {}, h("tr", {}, [t("keys.col.seq"), t("keys.col.event"), t("keys.col.key"), t("keys.col.entry"), t("keys.col.when")].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, k.history.map((e) => h("tr", { "data-kind": e.kind },
        h("td", {}, String(e.seq)),
        h("td", {}, eventName(e.kind), e.void && e.void[0] < e.void[1]
          ? h("span", { class: "badge bad" }, " ", t("keys.voids", { from: String(e.void[0]), to: String(e.void[1] - 1) })) : null),
        h("td", {}, h("code", { title: e.signing_key }, short(e.signing_key, 16))),
        h("td", {}, h("code", { title: e.entry_id }, short(e.entry_id, 12))),
        h("td", {}, when(e.timestamp_ms)))))))
      : h("p", { class: "muted", id: "key-history" }, t("keys.no-log")),
  ];
}

const eventName = (kind) => ({ "identity.inception": t("keys.event.inception"), "key.rotate": t("keys.event.rotate"),
  "key.revoke": t("keys.event.revoke") })[kind] || kind;

// A button that opens an in-page confirmation (`question()` may ask the node first);
// `act` runs only after "Yes".
function confirmed(label, id, question, yes, act, out) {
  const box = h("div", {});
  const open = h("button", { type: "button", id, class: "secondary", onclick: () => busy(open, out, async () => {
    const text = await question();
    const go = h("button", { type: "button", id: `${id}-yes` }, yes);
    const cancel = h("button", { type: "button", class: "secondary", onclick: () => { replace(box); open.focus(); } }, t("keys.cancel"));
    go.addEventListener("click", () => busy(go, out, async () => { await act(); replace(box); }));
    replace(box, h("div", { class: "alert", role: "alertdialog", "aria-labelledby": `${id}-q` },
      h("p", { id: `${id}-q` }, text), h("div", { class: "inline" }, go, cancel)));
    go.focus();
  }) }, label);
  return [open, box];
}

function rotateControl(out, refresh) {
  return h("div", { class: "stack" }, confirmed(t("keys.rotate"), "rotate-key",
    () => t("keys.rotate.question"),
    t("keys.rotate.yes"), async () => {
      const r = await post("/api/v1/keys/rotate");
      replace(out, h("p", { role: "status" }, tn("keys.rotated", { seq: String(r.seq), key: h("code", {}, short(r.signing_key, 16)) })));
      await refresh();
    }, out));
}

function revokeForm(out, refresh) {
  const file = h("input", { id: "revoke-file", name: "recovery_key", type: "file", required: true });
  const from = h("input", { id: "revoke-from", name: "from_seq", type: "number", min: 2, step: 1, required: true, inputmode: "numeric" });
  const question = async () => {
    const now = await get("/api/v1/keys");  // what becomes void is read now, not from the last refresh
    const seq = now.log_size + 1;
    const n = Number(from.value);
    const range = n < seq ? t("keys.revoke.range", { from: String(n), to: String(seq - 1) }) : t("keys.revoke.none");
    return t("keys.revoke.question", { from: String(n), range, seq: String(seq) });
  };
  const act = async () => {
    if (!file.files.length) throw new Error(t("keys.revoke.file-missing"));
    const text = await file.files[0].text();
    const r = await post("/api/v1/keys/revoke", { recovery_key: text, from_seq: Number(from.value) });
    file.value = "";
    from.value = "";
    replace(out, h("p", { role: "status" }, t("keys.revoked", { seq: String(r.seq), from: String(r.void[0]), to: String(r.void[1] - 1) })));
    await refresh();
  };
  const [open, box] = confirmed(t("keys.revoke.open"), "revoke-key", question, t("keys.revoke.yes"), act, out);
  // Checked before the question is even asked: a key file chosen, a seq from 2.
  const form = h("form", { class: "stack", id: "revoke-form", novalidate: true, onsubmit: (e) => {
    e.preventDefault();
    clearFieldErrors(form);
    try {
      checks.files(file, { max: 1, required: true });
      checks.integer(from, 2, Number.MAX_SAFE_INTEGER);
    } catch (err) {
      if (!(err instanceof checks.FieldError)) throw err;
      showFieldError(err.input, err.message);
      err.input.focus();
      return;
    }
    open.click();
  } },
    h("p", { class: "muted" }, t("keys.revoke.help")),
    h("label", { for: "revoke-file" }, t("keys.revoke.file"), file),
    h("label", { for: "revoke-from" }, t("keys.revoke.from"), from),
    h("button", { type: "submit", class: "secondary" }, t("keys.revoke.submit")), box);
  open.hidden = true;
  return h("details", { id: "revoke" }, h("summary", {}, t("keys.revoke.title")), form, open);
}
