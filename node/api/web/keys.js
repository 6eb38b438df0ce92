// The Node page's keys panel: the signing key in force, the key history, rotating the
// key and revoking a stolen one with the recovery key (README "Keys"). Both actions
// sign a permanent entry, so each asks for a confirmation in the page first. The
// recovery key file is read in the browser and sent once over the local API, which
// never stores it; the file input is cleared afterwards.
import { get, optional, post } from "./api.js";
import { busy, errorBox, h, replace, short, when } from "./ui.js";
import * as checks from "./checks.js";
import { clearFieldErrors, showFieldError } from "./checks.js";

// `onChange`: what else to refresh after this panel signed a key event (the page).
export function keysPanel(onChange = async () => {}) {
  const shown = h("div", {});
  const out = h("div", { "aria-live": "polite", id: "keys-out" });
  const actions = h("div", {});
  const panel = h("section", { class: "card", id: "keys", "aria-labelledby": "keys-h" },
    h("h2", { id: "keys-h" }, "Signing keys"), shown, actions, out);
  const refresh = async () => {
    try {
      const keys = await optional("/api/v1/keys");
      if (keys === null) { replace(shown, h("p", { class: "muted" }, "This node has no key routes.")); return; }
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
    h("p", {}, "Signing key in force ", h("code", { id: "key-in-force", title: k.signing_key }, short(k.signing_key, 16)),
      ` since seq ${k.since_seq}`, k.home_key_in_force ? null : h("span", { class: "badge bad" }, " not this home's key")),
    h("p", {}, "Recovery key ", h("code", { title: k.recovery_key }, short(k.recovery_key, 16)),
      k.recovery_key_in_home ? h("span", { class: "badge bad" }, "still in the home: move it offline")
        : h("span", { class: "badge ok" }, "offline")),
    k.history.length ? h("div", { class: "table-wrap" }, h("table", { id: "key-history" },
      h("caption", { class: "muted" }, "Key history (each event is an entry of this node's log)"),
      h("thead", {}, h("tr", {}, ["Seq", "Event", "Key put in force", "Entry", "When"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, k.history.map((e) => h("tr", { "data-kind": e.kind },
        h("td", {}, String(e.seq)),
        h("td", {}, EVENT[e.kind] || e.kind, e.void && e.void[0] < e.void[1]
          ? h("span", { class: "badge bad" }, ` voids seqs ${e.void[0]}–${e.void[1] - 1}`) : null),
        h("td", {}, h("code", { title: e.signing_key }, short(e.signing_key, 16))),
        h("td", {}, h("code", { title: e.entry_id }, short(e.entry_id, 12))),
        h("td", {}, when(e.timestamp_ms)))))))
      : h("p", { class: "muted", id: "key-history" }, "No log yet: the first entry this node signs is its inception."),
  ];
}

const EVENT = { "identity.inception": "inception", "key.rotate": "rotation", "key.revoke": "revocation" };

// A button that opens an in-page confirmation (`question()` may ask the node first);
// `act` runs only after "Yes".
function confirmed(label, id, question, yes, act, out) {
  const box = h("div", {});
  const open = h("button", { type: "button", id, class: "secondary", onclick: () => busy(open, out, async () => {
    const text = await question();
    const go = h("button", { type: "button", id: `${id}-yes` }, yes);
    const cancel = h("button", { type: "button", class: "secondary", onclick: () => { replace(box); open.focus(); } }, "Cancel");
    go.addEventListener("click", () => busy(go, out, async () => { await act(); replace(box); }));
    replace(box, h("div", { class: "alert", role: "alertdialog", "aria-labelledby": `${id}-q` },
      h("p", { id: `${id}-q` }, text), h("div", { class: "inline" }, go, cancel)));
    go.focus();
  }) }, label);
  return [open, box];
}

function rotateControl(out, refresh) {
  return h("div", { class: "stack" }, confirmed("Rotate signing key", "rotate-key",
    () => "Rotate the signing key? This signs a key.rotate entry into this node's log — permanent, seen by every peer. A new key signs from the next entry on; the old one signs nothing more.",
    "Yes, rotate", async () => {
      const r = await post("/api/v1/keys/rotate");
      replace(out, h("p", { role: "status" }, `Rotated at seq ${r.seq}: new signing key `, h("code", {}, short(r.signing_key, 16))));
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
    const range = n < seq ? `Entries seq ${n} to ${seq - 1} of this node's log become void on every node: every view ignores them.` : "No entry becomes void.";
    return `Revoke the signing key from seq ${n}? ${range} A key.revoke signed by the recovery key is appended at seq ${seq} — permanent — and a new signing key is put in force.`;
  };
  const act = async () => {
    if (!file.files.length) throw new Error("Choose the recovery key file (keys/recovery.key from offline storage).");
    const text = await file.files[0].text();
    const r = await post("/api/v1/keys/revoke", { recovery_key: text, from_seq: Number(from.value) });
    file.value = "";
    from.value = "";
    replace(out, h("p", { role: "status" }, `Revoked at seq ${r.seq}: seqs ${r.void[0]}–${r.void[1] - 1} are void. Put the recovery key back offline.`));
    await refresh();
  };
  const [open, box] = confirmed("Revoke…", "revoke-key", question, "Yes, revoke", act, out);
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
    h("p", { class: "muted" }, "Only if the signing key was stolen (README: “Our signing key was stolen”). The recovery key file is sent once to this node, used to sign, and not stored."),
    h("label", { for: "revoke-file" }, "Recovery key file", file),
    h("label", { for: "revoke-from" }, "First seq the thief signed", from),
    h("button", { type: "submit", class: "secondary" }, "Revoke the signing key"), box);
  open.hidden = true;
  return h("details", { id: "revoke" }, h("summary", {}, "Revoke a stolen signing key"), form, open);
}
