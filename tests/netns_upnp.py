"""A real UPnP gateway for the NAT labs of tests/netns.py: miniupnpd in the router.

`upnp_gateway(router, lab)` runs Debian's `miniupnpd-nftables` in the foreground (-d)
inside the router namespace of `Switch.add_nat_lab`: it answers SSDP and SOAP on the
router's LAN leg, allows the lab's /24 to map ports 1024-65535 to itself only (secure
mode; `allow=False`: nothing), and writes its DNAT rules into its own nftables table
(`inet miniupnpd`, made here as the package's nft_init.sh makes it, with a forward
chain that accepts). It is killed, and its table deleted, when the block exits.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from tests.netns import Host, in_namespace, sh

MINIUPNPD = "/usr/sbin/miniupnpd"
SOAP_PORT = 5555
START_TIMEOUT_S = 20.0

TABLE = """table inet miniupnpd {
    chain forward { type filter hook forward priority 0; policy accept; jump miniupnpd; }
    chain miniupnpd { }
    chain prerouting { type nat hook prerouting priority -100; policy accept;
                       jump prerouting_miniupnpd; }
    chain postrouting { type nat hook postrouting priority 100; policy accept;
                        jump postrouting_miniupnpd; }
    chain prerouting_miniupnpd { }
    chain postrouting_miniupnpd { }
}
"""


def miniupnpd_missing() -> str | None:
    """Why a UPnP gateway cannot run here, or None."""
    if shutil.which("miniupnpd") is None and not Path(MINIUPNPD).exists():
        return "`miniupnpd` missing: install Debian's miniupnpd-nftables"
    return None


def _config(lab: Host, folder: Path, allow: bool) -> Path:
    subnet = lab.address.rsplit(".", 1)[0] + ".0/24"
    conf = folder / "miniupnpd.conf"
    conf.write_text(
        "\n".join(
            [
                "ext_ifname=wan",
                "listening_ip=lan",
                f"port={SOAP_PORT}",
                "enable_upnp=yes",
                "enable_natpmp=no",
                "secure_mode=yes",
                "system_uptime=yes",
                "uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b",
                "upnp_table_name=miniupnpd",
                "upnp_nat_table_name=miniupnpd",
                f"lease_file={folder / 'leases'}",
                f"allow 1024-65535 {subnet} 1024-65535" if allow else "",
                "deny 0-65535 0.0.0.0/0 0-65535",
                "",
            ]
        )
    )
    return conf


def _listening(address: str) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((address, SOAP_PORT), 1.0):
        return True
    return False


@contextlib.contextmanager
def upnp_gateway(
    router: str, lab: Host, folder: Path, *, allow: bool = True
) -> Iterator[subprocess.Popen[str]]:
    """miniupnpd serving `lab` from the router namespace `router`, until the block exits;
    `allow=False`: a gateway that refuses every mapping (its permission rules deny all)."""
    folder.mkdir(parents=True, exist_ok=True)
    rules = folder / "miniupnpd.nft"
    rules.write_text(TABLE)
    sh(f"ip netns exec {router} nft -f {rules}")
    conf = _config(lab, folder, allow)
    log = (folder / "miniupnpd.log").open("w")
    argv = ["ip", "netns", "exec", router, MINIUPNPD, "-f", str(conf), "-d"]
    argv += ["-P", str(folder / "miniupnpd.pid")]
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, text=True)
    gateway = lab.address.rsplit(".", 1)[0] + ".1"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not in_namespace(lab.namespace, lambda: _listening(gateway)):
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise RuntimeError(
                    f"miniupnpd did not start: {(folder / 'miniupnpd.log').read_text()}"
                )
            time.sleep(0.1)  # polling for the daemon's port, bounded above
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        sh(f"ip netns exec {router} nft delete table inet miniupnpd", check=False)
