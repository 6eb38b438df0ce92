// Node: identity, signing keys, peers, per-log heads, sync progress, fork alerts,
// reachability (doctor.js), verification.
import { get, optional, post } from "./api.js";
import { doctorPanel } from "./doctor.js";
import { keysPanel } from "./keys.js";
import { busy, errorBox, h, replace, short, when } from "./ui.js";

export async function nodePage(view) {
  const body = h("div", {});
  const out = h("div", { "aria-live": "polite" });
  const verify = h("button", { type: "button", id: "verify", onclick: () => busy(verify, out, async () => {
    const r = await post("/api/v1/ledger/verify");
    replace(out, h("p", { role: "status" }, r.ok ? "Ledger verified: " : "Ledger has problems: ",
      `${r.entries} entries in ${r.authors} logs, ${r.checkpoints} checkpoints, ${r.fork_proofs} fork proofs`),
      r.errors.length ? h("ul", {}, r.errors.map((e) => h("li", { class: "error" }, JSON.stringify(e)))) : null);
  }) }, "Verify the whole ledger");
  const refresh = async () => {
    try {
      const [me, peers, sync, adverts, doctor] = await Promise.all([get("/api/v1/identity"), get("/api/v1/peers"),
        get("/api/v1/sync"), optional("/api/v1/capabilities").catch(() => null), get("/api/v1/doctor").catch(() => null)]);
      replace(body, render(me, peers, sync, adverts ? adverts.adverts : []), doctorPanel(doctor));
    } catch (e) { replace(body, errorBox(e)); }
  };
  const keys = keysPanel(refresh);
  view.append(h("h1", {}, "Node"), body, keys.panel, h("h2", {}, "Verification"), verify, out);
  await Promise.all([refresh(), keys.refresh()]);
  const timer = setInterval(refresh, 5000);
  let pending = null;
  const onEntries = () => { if (!pending) pending = setTimeout(() => { pending = null; refresh(); keys.refresh(); }, 500); };
  window.addEventListener("fab:entries", onEntries);
  return () => { clearInterval(timer); window.removeEventListener("fab:entries", onEntries); };
}

function render(me, peers, sync, adverts) {
  const names = new Map(adverts.map((a) => [a.lab, a.advert.name]));
  names.set(me.identity, `this node${names.has(me.identity) ? `, ${names.get(me.identity)}` : ""}`);
  const forkers = new Map();
  for (const f of sync.fork_alerts) forkers.set(f.author, (forkers.get(f.author) || 0) + 1);
  const alerts = forkers.size
    ? h("div", { class: "alert", role: "alert", id: "fork-alerts" }, h("strong", {}, "Fork alert: "),
      `${forkers.size} author(s) signed two different histories; their logs are frozen here.`,
      h("ul", {}, [...forkers].map(([author, proofs]) => h("li", {}, h("code", {}, author),
        ` (${proofs} fork proof${proofs === 1 ? "" : "s"})`))))
    : h("p", { class: "muted", id: "fork-alerts" }, "No fork alerts: every author's log has one history.");
  const s = sync.sync;
  return [
    alerts,
    h("div", { class: "grid" },
      h("section", { class: "card", "aria-labelledby": "id-h" }, h("h2", { id: "id-h" }, "Identity"),
        h("p", {}, "Identity ", h("code", {}, me.identity)),
        h("p", {}, "Network ", h("strong", {}, me.network.name), " ", h("code", {}, short(me.network.id, 16))),
        h("p", {}, "Peer id ", h("code", {}, me.peer_id || "offline")),
        h("p", {}, "Listening on"), h("ul", {}, me.listen_addrs.map((a) => h("li", {}, h("code", {}, a))))),
      h("section", { class: "card", "aria-labelledby": "sync-h" }, h("h2", { id: "sync-h" }, "Sync"),
        h("p", {}, `${sync.entries_held} entries held in ${sync.logs.length} logs`),
        h("p", {}, s.running && s.running.length ? `Syncing with ${s.running.length} peer(s) now…` : "Idle"),
        s.syncs_completed === undefined ? h("p", { class: "muted" }, "No network.") : h("ul", {},
          h("li", {}, `${s.syncs_completed} sync sessions done, ${s.syncs_failed} failed`),
          h("li", {}, `${s.sync_entries_stored} entries stored by sync, ${s.gossip_entries_stored} by gossip`),
          h("li", {}, `${s.announcements_accepted} announcements accepted, ${s.announcements_rejected} rejected`)))),
    h("h2", {}, `Peers (${peers.peers.length})`),
    peers.peers.length ? h("div", { class: "table-wrap" }, h("table", { id: "peers" },
      h("thead", {}, h("tr", {}, ["Peer", "Score", "Last sync", "State"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, peers.peers.map((p) => h("tr", {},
        h("td", {}, h("code", { title: p.peer_id }, short(p.peer_id, 16))),
        h("td", {}, p.score === null || p.score === undefined ? "—" : Number(p.score).toFixed(1)),
        h("td", {}, when(p.last_sync_ms)),
        h("td", {}, p.syncing ? "syncing" : p.last_error ? h("span", { class: "error" }, p.last_error) : "ok"))))))
      : h("p", { class: "muted" }, "No peer connected. Start with --bootstrap ADDRESS to join a federation."),
    h("h2", {}, "Log heads"),
    h("div", { class: "table-wrap" }, h("table", { id: "log-heads" },
      h("thead", {}, h("tr", {}, ["Author", "Entries", "Head", "State"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, sync.logs.map((l) => h("tr", {},
        h("td", {}, h("code", { title: l.author }, short(l.author, 16)), names.has(l.author) ? h("span", { class: "muted" }, ` (${names.get(l.author)})`) : null),
        h("td", {}, String(l.size)),
        h("td", {}, h("code", { title: l.head || "" }, short(l.head, 12))),
        h("td", {}, l.frozen ? h("span", { class: "badge bad" }, "frozen: forked") : h("span", { class: "badge ok" }, "ok"))))))),
  ];
}
