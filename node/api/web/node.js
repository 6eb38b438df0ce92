// Node: identity, signing keys, peers, per-log heads, sync progress, fork alerts,
// reachability (doctor.js), verification.
import { get, optional, post } from "./api.js";
import { doctorPanel } from "./doctor.js";
import { keysPanel } from "./keys.js";
import { busy, errorBox, h, replace, short, when } from "./ui.js";
import { number, t } from "./i18n.js";

export async function nodePage(view) {
  const body = h("div", {});
  const out = h("div", { "aria-live": "polite" });
  const verify = h("button", { type: "button", id: "verify", onclick: () => busy(verify, out, async () => {
    const r = await post("/api/v1/ledger/verify");
    replace(out, h("p", { role: "status" }, r.ok ? t("node.verified") : t("node.problems"), " ",
      t("node.verify.counts", { entries: r.entries, authors: r.authors, checkpoints: r.checkpoints, proofs: r.fork_proofs })),
      r.errors.length ? h("ul", {}, r.errors.map((e) => h("li", { class: "error" }, JSON.stringify(e)))) : null);
  }) }, t("node.verify"));
  const refresh = async () => {
    try {
      const [me, peers, sync, adverts, doctor] = await Promise.all([get("/api/v1/identity"), get("/api/v1/peers"),
        get("/api/v1/sync"), optional("/api/v1/capabilities").catch(() => null), get("/api/v1/doctor").catch(() => null)]);
      replace(body, render(me, peers, sync, adverts ? adverts.adverts : []), doctorPanel(doctor));
    } catch (e) { replace(body, errorBox(e)); }
  };
  const keys = keysPanel(refresh);
  view.append(h("h1", {}, t("nav.node")), body, keys.panel, h("h2", {}, t("node.verification")), verify, out);
  await Promise.all([refresh(), keys.refresh()]);
  const timer = setInterval(refresh, 5000);
  let pending = null;
  const onEntries = () => { if (!pending) pending = setTimeout(() => { pending = null; refresh(); keys.refresh(); }, 500); };
  window.addEventListener("fab:entries", onEntries);
  return () => { clearInterval(timer); window.removeEventListener("fab:entries", onEntries); };
}

function render(me, peers, sync, adverts) {
  const names = new Map(adverts.map((a) => [a.lab, a.advert.name]));
  names.set(me.identity, names.has(me.identity) ? t("node.this-named", { name: names.get(me.identity) }) : t("node.this"));
  const forkers = new Map();
  for (const f of sync.fork_alerts) forkers.set(f.author, (forkers.get(f.author) || 0) + 1);
  const alerts = forkers.size
    ? h("div", { class: "alert", role: "alert", id: "fork-alerts" }, h("strong", {}, t("node.fork-alert")), " ",
      t("node.fork-authors", { count: forkers.size }),
      h("ul", {}, [...forkers].map(([author, proofs]) => h("li", {}, h("code", {}, author),
        ` (${t("node.fork-proofs", { count: proofs })})`))))
    : h("p", { class: "muted", id: "fork-alerts" }, t("node.no-fork"));
  const s = sync.sync;
  return [
    alerts,
    h("div", { class: "grid" },
      h("section", { class: "card", "aria-labelledby": "id-h" }, h("h2", { id: "id-h" }, t("node.identity")),
        h("p", {}, t("node.identity"), " ", h("code", {}, me.identity)),
        h("p", {}, t("node.network"), " ", h("strong", {}, me.network.name), " ", h("code", {}, short(me.network.id, 16))),
        h("p", {}, t("node.peer-id"), " ", h("code", {}, me.peer_id || t("node.offline"))),
        h("p", {}, t("node.listening")), h("ul", {}, me.listen_addrs.map((a) => h("li", {}, h("code", {}, a))))),
      h("section", { class: "card", "aria-labelledby": "sync-h" }, h("h2", { id: "sync-h" }, t("node.sync")),
        h("p", {}, t("node.held", { entries: sync.entries_held, logs: sync.logs.length })),
        h("p", {}, s.running && s.running.length ? t("node.syncing", { count: s.running.length }) : t("node.idle")),
        s.syncs_completed === undefined ? h("p", { class: "muted" }, t("node.no-network")) : h("ul", {},
          h("li", {}, t("node.sessions", { done: s.syncs_completed, failed: s.syncs_failed })),
          h("li", {}, t("node.stored", { sync: s.sync_entries_stored, gossip: s.gossip_entries_stored })),
          h("li", {}, t("node.announcements", { accepted: s.announcements_accepted, rejected: s.announcements_rejected }))))),
    h("h2", {}, t("node.peers", { count: peers.peers.length })),
    peers.peers.length ? h("div", { class: "table-wrap" }, h("table", { id: "peers" },
      h("thead", {}, h("tr", {}, [t("node.col.peer"), t("node.col.score"), t("node.col.last-sync"), t("node.col.state")].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, peers.peers.map((p) => h("tr", {},
        h("td", {}, h("code", { title: p.peer_id }, short(p.peer_id, 16))),
        h("td", {}, p.score === null || p.score === undefined ? "—" : number(Number(p.score), { minimumFractionDigits: 1, maximumFractionDigits: 1 })),
        h("td", {}, when(p.last_sync_ms)),
        h("td", {}, p.syncing ? t("node.state.syncing") : p.last_error ? h("span", { class: "error" }, p.last_error) : t("node.state.ok")))))))
      : h("p", { class: "muted" }, t("node.no-peer")),
    h("h2", {}, t("node.log-heads")),
    h("div", { class: "table-wrap" }, h("table", { id: "log-heads" },
      h("thead", {}, h("tr", {}, [t("node.col.author"), t("node.col.entries"), t("node.col.head"), t("node.col.state")].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, sync.logs.map((l) => h("tr", {},
        h("td", {}, h("code", { title: l.author }, short(l.author, 16)), names.has(l.author) ? h("span", { class: "muted" }, ` (${names.get(l.author)})`) : null),
        h("td", {}, number(l.size)),
        h("td", {}, h("code", { title: l.head || "" }, short(l.head, 12))),
        h("td", {}, l.frozen ? h("span", { class: "badge bad" }, t("node.frozen")) : h("span", { class: "badge ok" }, t("node.state.ok")))))))),
  ];
}
