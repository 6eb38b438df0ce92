// Reachability (the Node page's panel): GET /api/v1/doctor, as `fabnode doctor` prints it
// (specs/0014 §6): listen and observed addresses, dial-back verdicts, relays, each
// connection direct or relayed, UPnP, and what to change.
import { h, short } from "./ui.js";

const STATUS = {
  public: ["ok", "reachable"],
  private: ["bad", "not reachable from outside"],
  unknown: ["", "not known yet"],
};

function addrs(list, empty) {
  return list.length ? h("ul", {}, list.map((a) => h("li", {}, h("code", {}, a)))) : h("p", { class: "muted" }, empty);
}

export function doctorPanel(report) {
  if (!report) return h("section", { class: "card", id: "doctor" }, h("h2", {}, "Reachability"), h("p", { class: "muted" }, "No network."));
  const [badge, words] = STATUS[report.reachability] || STATUS.unknown;
  return h("section", { class: "card", id: "doctor", "aria-labelledby": "doctor-h" },
    h("h2", { id: "doctor-h" }, "Reachability"),
    h("p", {}, "Peers' dial-backs: ", h("span", { class: `badge ${badge}`, id: "doctor-status", "data-status": report.reachability }, words),
      ` (${report.dialbacks.filter((v) => v.reached).length} of ${report.dialbacks.length} reached this node)`),
    h("h3", {}, "What to change"),
    h("ul", { id: "doctor-advice" }, report.advice.map((a) => h("li", {}, a))),
    h("h3", {}, "Listening on"), addrs(report.listen_addrs, "No listen address."),
    h("h3", {}, "Seen by peers at"),
    addrs([...report.observed_addrs, ...report.observed_unconfirmed.map((a) => `${a} (not confirmed)`)], "No observed address yet (peers on this machine or network report none)."),
    h("h3", {}, "Connections"),
    report.connections.length ? h("div", { class: "table-wrap" }, h("table", { id: "doctor-connections" },
      h("thead", {}, h("tr", {}, ["Peer", "Path", "Remote address"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, report.connections.map((c) => h("tr", {},
        h("td", {}, h("code", { title: c.peer }, short(c.peer, 16))),
        h("td", {}, c.connection),
        h("td", {}, h("code", {}, c.remote || "?")))))))
      : h("p", { class: "muted" }, "No connection."),
    h("p", {}, `Relays in use: ${report.relays.length ? report.relays.join(", ") : "none"}. `,
      `Relaying for: ${report.relaying_for.length} peer(s). `,
      `Hole punches: ${report.hole_punches.successes} direct of ${report.hole_punches.attempts} tried. UPnP: ${report.upnp}. `,
      `Peers known from the peer store: ${report.known_peers}.`));
}
