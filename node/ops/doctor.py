"""`fabnode doctor`: what the node knows of its reachability, and what to change (specs/0014 §6).

`DoctorReport` is what `GET /api/v1/doctor` answers and `fabnode doctor` prints: listen
and observed addresses, the dial-back verdicts and their status, each connection direct
or relayed, UPnP's result (`UpnpOut`, 0014 §6.1), the peers the store knows, the
relays in use (our relayed addresses) and the peers relaying through us, DCUtR's hole
punches (0014 §7), and what to change, computed here from the rest by `advise`: as
`advice_items` (a stable code and its figures, which the CLI and the page put in the
reader's language: the templates are `ADVICE`, in the catalogs) and as `advice`, the
same sentences in English for scripts. Pure: the network driver (node.net.network)
fills the facts in; nothing here does I/O.
"""

from __future__ import annotations

import ipaddress
from typing import Final, Literal

from pydantic import BaseModel

from node.i18n import N_
from protocol.address import relay_of

Reachability = Literal["public", "private", "unknown"]
#: UPnP's result (specs/0014 §6.1; node.net.upnp): not asked, under way, no gateway
#: answered, the gateway has no public address, it refused the mapping, mapped.
UpnpCode = Literal["off", "no-listener", "pending", "no-gateway", "double-nat", "refused", "mapped"]


class VerdictOut(BaseModel):
    peer: str
    reached: bool
    age_s: int


class ConnectionOut(BaseModel):
    peer: str
    connection: Literal["direct", "relayed"]
    remote: str | None


class UpnpOut(BaseModel):
    code: UpnpCode
    external_ip: str | None = None  # the gateway's external address, when it gave one
    port: int | None = None  # the external TCP port (= the listen port) asked for
    detail: str = ""  # the gateway's own words on a refusal

    def english(self) -> str:
        """The status as the English sentence `DoctorReport.upnp` keeps for scripts."""
        return UPNP[self.code].format(ip=self.external_ip or "?", port=self.port or "?")


#: Each UPnP code's English text, marked for the catalogs (the page: doctor.upnp.<code>).
UPNP: Final[dict[str, str]] = {
    "off": N_("not tried (off; fabnode run --upnp turns it on)"),
    "no-listener": N_("not tried: the node listens on no TCP address a router could forward to"),
    "pending": N_("asking the router"),
    "no-gateway": N_("no UPnP gateway answered"),
    "double-nat": N_("the gateway has no public address ({ip}): a second NAT is in front"),
    "refused": N_("the gateway refused to map TCP port {port}"),
    "mapped": N_("TCP port {port} mapped at {ip}"),
}


class HolePunchOut(BaseModel):
    attempts: int  # DCUtR hole punches this node started (specs/0014 §7.5)
    successes: int  # those that ended with a direct connection


#: What `fabnode doctor` may advise: each code's English template, marked for the
#: catalogs (the page's keys are doctor.advice.<code>, with the same placeholders).
ADVICE: Final[dict[str, str]] = {
    "loopback-only": N_(
        "This node listens on loopback only: no other machine can reach it. "
        "Run it with --listen /ip4/0.0.0.0/tcp/{port} to accept peers."
    ),
    "no-peer": N_(
        "No peer is connected: start with --bootstrap <a member's address>, "
        "or check that this machine may open outbound TCP connections."
    ),
    "forward-port": N_(
        "Peers could not dial this node back: forward TCP port {port} on your router to "
        "this machine (or ask your network's administrator to), then check again."
    ),
    "forward-unknown-port": N_(
        "Peers could not dial this node back: forward the node's TCP port on your router "
        "to this machine (or ask your network's administrator to), then check again."
    ),
    "relayed": N_(
        "Labs elsewhere reach this node through {count} member relay(s) ({relays}), with "
        "limits per connection; a forwarded port lets them connect directly."
    ),
    "reachability-unknown": N_(
        "Reachability is not known yet: it needs dial-backs from two peers "
        "({count} so far); check again in a minute."
    ),
    "local-only": N_(
        "Reachable on the local network only (every peer is on a private address): "
        "labs elsewhere need a forwarded port or a public address."
    ),
    "all-well": N_("Reachable by peers: nothing to change."),
    "upnp-mapped": N_(
        "Your router mapped TCP port {port} by UPnP (at {address}): nothing to forward."
    ),
    "upnp-double-nat": N_(
        "Your router's UPnP gateway has no public address: another NAT sits in front "
        "of it (your provider's, or a second router), where the port must be forwarded."
    ),
}


class AdviceOut(BaseModel):
    """One piece of advice: its code (a key of `ADVICE`) and the figures it names."""

    code: str
    params: dict[str, str | int] = {}

    def english(self) -> str:
        return ADVICE[self.code].format(**self.params)


class DoctorReport(BaseModel):
    peer_id: str
    listen_addrs: list[str]
    observed_addrs: list[str]  # confirmed by libp2p's 4 distinct observers
    observed_unconfirmed: list[str]  # seen by fewer
    reachability: Reachability
    dialbacks: list[VerdictOut]
    relays: list[str]  # our addresses through member relays (specs/0014 §7.4)
    relaying_for: list[str] = []  # peers holding a reservation at our relay
    relay_refused: dict[str, int] = {}  # why -> hop requests our relay refused
    hole_punches: HolePunchOut = HolePunchOut(attempts=0, successes=0)
    connections: list[ConnectionOut]
    known_peers: int
    upnp: str  # `upnp_status` in English, for scripts
    upnp_status: UpnpOut = UpnpOut(code="off")
    advice: list[str] = []  # English sentences (`advice_items`' texts, for scripts)
    advice_items: list[AdviceOut] = []


def listen_port(listen_addrs: list[str]) -> int | None:
    """The TCP port of the first listen address, if any."""
    for addr in listen_addrs:
        parts = addr.split("/")
        if "tcp" in parts and parts.index("tcp") + 1 < len(parts):
            port = parts[parts.index("tcp") + 1]
            if port.isdigit():
                return int(port)
    return None


def _host(addr: str) -> str:
    parts = addr.split("/")
    return parts[2] if len(parts) > 2 else ""


def on_loopback(addr: str) -> bool:
    """A listen multiaddr on 127.0.0.0/8 or ::1: no other machine reaches it."""
    host = _host(addr)
    return _is_ip(host) and ipaddress.ip_address(host).is_loopback


def _is_local(host: str) -> bool:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private or ip.is_link_local


def advise(report: DoctorReport) -> list[AdviceOut]:
    """What to change, most important first; "nothing" said plainly when all is well."""
    advice: list[AdviceOut] = []
    port = listen_port(report.listen_addrs)
    if report.listen_addrs and all(on_loopback(a) for a in report.listen_addrs):
        advice.append(AdviceOut(code="loopback-only", params={"port": port or 4001}))
    if not report.connections:
        advice.append(AdviceOut(code="no-peer"))
    if report.reachability == "private":
        if port:
            advice.append(AdviceOut(code="forward-port", params={"port": port}))
        else:
            advice.append(AdviceOut(code="forward-unknown-port"))
    if report.relays:
        relays = sorted({r for r in map(relay_of, report.relays) if r is not None})
        params: dict[str, str | int] = {"count": len(relays), "relays": ", ".join(relays)}
        advice.append(AdviceOut(code="relayed", params=params))
    if report.reachability == "unknown":
        params = {"count": len(report.dialbacks)}
        advice.append(AdviceOut(code="reachability-unknown", params=params))
    upnp = report.upnp_status
    if upnp.code == "mapped" and report.reachability != "private":  # else: not enough
        address = f"{upnp.external_ip}:{upnp.port}"
        advice.append(
            AdviceOut(code="upnp-mapped", params={"port": upnp.port or 0, "address": address})
        )
    elif upnp.code == "double-nat":
        advice.append(AdviceOut(code="upnp-double-nat"))
    remotes = [c.remote.rsplit(":", 1)[0] for c in report.connections if c.remote]
    if report.reachability == "public" and remotes and all(_is_local(r) for r in remotes):
        advice.append(AdviceOut(code="local-only"))
    elif report.reachability == "public":
        advice.append(AdviceOut(code="all-well"))
    return advice


def with_advice(report: DoctorReport) -> DoctorReport:
    """`report` with its advice filled in, as items and as English sentences."""
    report.advice_items = advise(report)
    report.advice = [item.english() for item in report.advice_items]
    return report


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
