"""UPnP: ask the lab's router to forward our TCP port (`fabnode run --upnp`, specs/0014 §6.1).

Off by default, as in libp2p. When on, once the host listens: discover an Internet
Gateway Device (SSDP, at most DISCOVER_MS), read its external address, and map the
listen port (external port = internal port, so the dial-back of 0014 §6 checks it as
is) to this machine for LEASE_S seconds, renewed every LEASE_S / 2; the mapping is
deleted when the node stops. The result is an `UpnpOut` with a stable code (`off`,
`pending`, `no-gateway`, `double-nat`, `refused`, `mapped`) that the doctor reports;
`mapped` gives the external address that discovery then advertises.

miniupnpc directly rather than libp2p's UpnpManager (discovery/upnp/upnp.py): that
one answers each step with a bare bool (no gateway, a private external address and a
refused mapping look the same), maps without a lease (a node that crashes leaves its
mapping on the router for good), and importing it would make a second module import
libp2p (node.net.host is the only one). miniupnpc's calls block: they run in worker
threads, abandoned (not waited for) when the node stops.

A gateway whose external address is not global (a private or shared 100.64/10 one:
a second NAT in front of it), or which reports none (miniupnpd withholds a private
one), is reported as `double-nat` and not used: a mapping there would not make the
node reachable from elsewhere.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
from collections.abc import Callable
from typing import Any

import miniupnpc
import trio

from node.ops.doctor import UpnpOut

__all__ = ["PortMapper"]

log = logging.getLogger(__name__)
DISCOVER_MS = 2000
LEASE_S = 3600
RENEW_S = LEASE_S / 2
#: Each SOAP call to the gateway (miniupnpc has its own socket timeouts: this bounds
#: the worker thread we wait for, not the call).
CALL_TIMEOUT_S = 10.0
DESCRIPTION = "Fab Commons node"
#: IGDv1 routers that only keep permanent mappings answer a lease with this error.
ONLY_PERMANENT = "OnlyPermanentLeasesSupported"


class PortMapper:
    """One TCP port mapped at the lab's UPnP gateway while `run` runs."""

    def __init__(self, port: int, on_mapped: Callable[[str | None], None]) -> None:
        self.port = port
        self.status = UpnpOut(code="pending")
        self._on_mapped = on_mapped  # told the external multiaddr, or None when lost
        self._gateway: Any = None
        self._lease_s = LEASE_S
        self._mapped_once = False  # a mapping may stand at the gateway: delete it at stop

    async def run(self) -> None:
        """Discover, map, renew until cancelled; then delete the mapping."""
        try:
            if not await self._discover():
                return
            while True:
                await self._map()
                await trio.sleep(RENEW_S)
        finally:
            if self._mapped_once:  # even after a failed renewal: the last one may stand
                with trio.CancelScope(shield=True), trio.move_on_after(CALL_TIMEOUT_S):
                    await self._unmap()

    async def _discover(self) -> bool:
        gateway = miniupnpc.UPnP()
        gateway.discoverdelay = DISCOVER_MS
        try:
            found = await _call(gateway.discover)
            if not found:
                self.status = UpnpOut(code="no-gateway")
                return False
            await _call(gateway.selectigd)
            external = str(await _call(gateway.externalipaddress) or "")
        except Exception as e:  # miniupnpc raises bare Exceptions with the gateway's word
            log.info("UPnP: no gateway: %s", e)
            self.status = UpnpOut(code="no-gateway", detail=str(e))
            return False
        if not _is_public(external):
            log.info("UPnP: the gateway's external address %r is not public", external)
            self.status = UpnpOut(code="double-nat", external_ip=external or None)
            return False
        self._gateway = gateway
        self.status = UpnpOut(code="pending", external_ip=external)
        return True

    async def _map(self) -> None:
        gateway, port = self._gateway, self.port
        external = self.status.external_ip
        try:
            await self._add(gateway, port)
        except Exception as e:
            log.warning("UPnP: the gateway refused to map TCP port %d: %s", port, e)
            self.status = UpnpOut(code="refused", external_ip=external, port=port, detail=str(e))
            self._on_mapped(None)
            return
        self._mapped_once = True
        if self.status.code != "mapped":
            log.info("UPnP: TCP port %d mapped at %s", port, external)
        self.status = UpnpOut(code="mapped", external_ip=external, port=port)
        self._on_mapped(f"/ip4/{external}/tcp/{port}")

    async def _add(self, gateway: Any, port: int) -> None:
        def add() -> None:
            gateway.addportmapping(
                port, "TCP", gateway.lanaddr, port, DESCRIPTION, "", self._lease_s
            )

        try:
            await _call(add)
        except Exception as e:
            if ONLY_PERMANENT not in str(e) or self._lease_s == 0:
                raise
            self._lease_s = 0  # permanent, deleted at stop (a crash leaves it behind)
            await _call(add)

    async def _unmap(self) -> None:
        with contextlib.suppress(Exception):
            await _call(lambda: self._gateway.deleteportmapping(self.port, "TCP"))
            log.info("UPnP: mapping of TCP port %d deleted", self.port)
        self._on_mapped(None)


async def _call(fn: Callable[[], Any]) -> Any:
    """A blocking miniupnpc call in a worker thread, given up on after CALL_TIMEOUT_S."""
    with trio.fail_after(CALL_TIMEOUT_S + DISCOVER_MS / 1000):
        return await trio.to_thread.run_sync(fn, abandon_on_cancel=True)


def _is_public(address: str) -> bool:
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(address).is_global
    return False
