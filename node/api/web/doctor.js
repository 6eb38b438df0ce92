// Reachability (the Node page's panel): GET /api/v1/doctor, as `fabnode doctor` prints it
// (specs/0014 §6): listen and observed addresses, dial-back verdicts, relays, each
// connection direct or relayed, UPnP, and what to change.
import { h, short } from "./ui.js";
import { list, t } from "./i18n.js";

const status = (reachability) => ({
  public: ["ok", t("doctor.public")],
  private: ["bad", t("doctor.private")],
})[reachability] || ["", t("doctor.unknown")];

// Each piece of advice the node may give (node/ops/doctor.py ADVICE), in the page's language.
const ADVICE = {
  "loopback-only": (p) => t("doctor.advice.loopback-only", p),
  "no-peer": (p) => t("doctor.advice.no-peer", p),
  "forward-port": (p) => t("doctor.advice.forward-port", p),
  "forward-unknown-port": (p) => t("doctor.advice.forward-unknown-port", p),
  "relayed": (p) => t("doctor.advice.relayed", p),
  "reachability-unknown": (p) => t("doctor.advice.reachability-unknown", p),
  "local-only": (p) => t("doctor.advice.local-only", p),
  "all-well": (p) => t("doctor.advice.all-well", p),
  "upnp-mapped": (p) => t("doctor.advice.upnp-mapped", p),
  "upnp-double-nat": (p) => t("doctor.advice.upnp-double-nat", p),
};

// UPnP's result (node/ops/doctor.py UPNP, specs/0014 §6.1) in the page's language; a
// code this page does not know, or a node without upnp_status, gives the node's English.
const UPNP = {
  "off": (p) => t("doctor.upnp.off", p),
  "no-listener": (p) => t("doctor.upnp.no-listener", p),
  "pending": (p) => t("doctor.upnp.pending", p),
  "no-gateway": (p) => t("doctor.upnp.no-gateway", p),
  "double-nat": (p) => t("doctor.upnp.double-nat", p),
  "refused": (p) => t("doctor.upnp.refused", p),
  "mapped": (p) => t("doctor.upnp.mapped", p),
};

function upnp(report) {
  const s = report.upnp_status;
  if (!s || !UPNP[s.code]) return report.upnp;
  return UPNP[s.code]({ ip: s.external_ip || "?", port: s.port || "?" });
}

// The advice as items in this language; a code this page does not know (a newer node's)
// and a node without items give the node's English sentences.
function advice(report) {
  const items = report.advice_items || [];
  if (items.length !== report.advice.length) return report.advice;
  return items.map((item, i) => (ADVICE[item.code] ? ADVICE[item.code](item.params) : report.advice[i]));
}

function addrs(list, empty) {
  return list.length ? h("ul", {}, list.map((a) => h("li", {}, h("code", {}, a)))) : h("p", { class: "muted" }, empty);
}

export function doctorPanel(report) {
  if (!report) return h("section", { class: "card", id: "doctor" }, h("h2", {}, t("doctor.title")), h("p", { class: "muted" }, t("node.no-network")));
  const [badge, words] = status(report.reachability);
  return h("section", { class: "card", id: "doctor", "aria-labelledby": "doctor-h" },
    h("h2", { id: "doctor-h" }, t("doctor.title")),
    h("p", {}, t("doctor.dialbacks"), " ", h("span", { class: `badge ${badge}`, id: "doctor-status", "data-status": report.reachability }, words),
      " ", t("doctor.reached", { count: report.dialbacks.filter((v) => v.reached).length, of: report.dialbacks.length })),
    h("h3", {}, t("doctor.advice")),
    h("ul", { id: "doctor-advice" }, advice(report).map((a) => h("li", {}, a))),
    h("h3", {}, t("node.listening")), addrs(report.listen_addrs, t("doctor.no-listen")),
    h("h3", {}, t("doctor.seen-at")),
    addrs([...report.observed_addrs, ...report.observed_unconfirmed.map((a) => t("doctor.unconfirmed", { address: a }))], t("doctor.no-observed")),
    h("h3", {}, t("doctor.connections")),
    report.connections.length ? h("div", { class: "table-wrap" }, h("table", { id: "doctor-connections" },
      h("thead", {}, h("tr", {}, [t("node.col.peer"), t("doctor.col.path"), t("doctor.col.remote")].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, report.connections.map((c) => h("tr", {},
        h("td", {}, h("code", { title: c.peer }, short(c.peer, 16))),
        h("td", {}, c.connection),
        h("td", {}, h("code", {}, c.remote || "?")))))))
      : h("p", { class: "muted" }, t("doctor.no-connection")),
    h("p", {}, t("doctor.relays", { relays: report.relays.length ? list(report.relays) : t("doctor.none") }), " ",
      t("doctor.relaying-for", { count: report.relaying_for.length }), " ",
      t("doctor.hole-punches", { successes: report.hole_punches.successes, attempts: report.hole_punches.attempts }), " ",
      h("span", { id: "doctor-upnp", "data-code": report.upnp_status ? report.upnp_status.code : "" }, t("doctor.upnp", { upnp: upnp(report) })), " ", t("doctor.known", { count: report.known_peers })));
}
