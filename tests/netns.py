"""Hosts for fault tests: one Linux network namespace per node, joined through a switch.

    node i  (namespace <run>-n<i>, eth0 10.77.0.<i+1>/24)
        └── veth ── p<i> ┐
                         ├─ br0 (namespace <run>-sw)     br1 takes one side of a partition
    node j ── veth ── p<j> ┘

Each node is a real `fabnode run` process started with `ip netns exec`, so its
libp2p host sees only its own interface, and its local API listens on 127.0.0.1
*inside* its namespace. Tests reach that API from a short-lived thread that joins
the namespace (setns(2) moves only the calling thread), so nothing about the node
changes for the tests.

Faults, all from iproute2 and nftables:
- partition: the switch ports of one side move to a second bridge (no packet
  crosses; open TCP connections stall rather than reset), heal moves them back;
- delay and jitter: `tc netem` on a node's eth0 (needs the kernel's sch_netem);
- loss: netem's loss when netem is there, else an nftables rule
  `numgen random mod 100 < p drop` on the node's output;
- a slow download: `tc tbf` on the switch port towards a node.

A lab behind NAT (`Switch.add_nat_lab`): a router namespace with one leg on the switch
(10.77.0.<k>, the lab's public address) and one on the lab's own LAN (192.168.<k>.0/24),
forwarding with an nftables masquerade and no port forwarding, so the lab dials out
and nothing dials in, as at most fab labs; `forward_port` adds the DNAT rule an
operator would add on a home router.

Namespaces are named `fabtest-<pid>-...`; those of a run whose process is gone
(a crashed earlier run) are deleted before a new run starts.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shlex
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.cli_helpers import fabnode
from tests.node_process import api

PREFIX = "fabtest-"
SUBNET = "10.77.0"
CLONE_NEWNET = 0x40000000
FAKETIME_LIBS = (
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
)

T = TypeVar("T")


@dataclass(frozen=True)
class Capabilities:
    """What this machine allows; a reason string where something is missing."""

    namespaces: str | None  # None when namespaces work, else why not
    netem: str | None
    nft: str | None
    tbf: str | None
    faketime: str | None
    faketime_lib: str = ""  # libfaketime's path, for LD_PRELOAD


def sh(command: str, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one iproute2/nftables command line (split like a shell, no shell)."""
    argv = shlex.split(command)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"{command}: {done.stderr.strip() or done.stdout.strip()}")
    return done


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def list_namespaces() -> list[str]:
    listed = sh("ip netns list", check=False).stdout.split("\n")
    return [line.split(" ")[0] for line in listed if line]


def add_namespace(name: str) -> None:
    sh(f"ip netns add {name}")


def delete_stale_namespaces() -> list[str]:
    """Delete the namespaces of earlier runs whose process is gone."""
    gone = []
    for name in list_namespaces():
        found = re.fullmatch(rf"{re.escape(PREFIX)}(\d+)-.*", name)
        if found and not pid_alive(int(found.group(1))):
            sh(f"ip netns delete {name}", check=False)
            gone.append(name)
    return gone


def probe() -> Capabilities:
    """Try each feature once in throw-away namespaces."""
    if os.geteuid() != 0:
        why = "network namespaces need root (CI runs as root)"
        return Capabilities(why, why, why, why, why)
    if shutil.which("ip") is None or shutil.which("tc") is None:
        why = "`ip`/`tc` missing: install Debian's iproute2"
        return Capabilities(why, why, why, why, why)
    delete_stale_namespaces()
    a, b = f"{PREFIX}{os.getpid()}-probe-a", f"{PREFIX}{os.getpid()}-probe-b"
    try:
        made = sh(f"ip netns add {a}", check=False)
        if made.returncode != 0:
            why = f"`ip netns add` fails here: {made.stderr.strip()}"
            return Capabilities(why, why, why, why, why)
        sh(f"ip netns add {b}")
        entered = sh(f"ip netns exec {a} true", check=False)
        if entered.returncode != 0:
            why = f"`ip netns exec` fails here: {entered.stderr.strip()}"
            return Capabilities(why, why, why, why, why)
        try:
            in_namespace(a, lambda: None)  # the API calls' way in (setns from a thread)
        except OSError as e:
            why = f"setns(2) into a namespace fails here: {e}"
            return Capabilities(why, why, why, why, why)
        sh(f"ip link add eth0 netns {a} type veth peer name p0 netns {b}")
        netem = sh(f"tc -n {a} qdisc add dev eth0 root netem delay 1ms", check=False)
        tbf = sh(f"tc -n {b} qdisc add dev p0 root {_tbf(1000)}", check=False)
        nft_why: str | None = "`nft` missing: install Debian's nftables"
        if shutil.which("nft") is not None:
            rule = sh(f"ip netns exec {a} nft add table inet probe", check=False)
            nft_why = None if rule.returncode == 0 else f"nftables refused: {rule.stderr.strip()}"
    finally:
        sh(f"ip netns delete {a}", check=False)
        sh(f"ip netns delete {b}", check=False)
    lib = next((p for p in FAKETIME_LIBS if os.path.exists(p)), "")
    return Capabilities(
        namespaces=None,
        netem=None if netem.returncode == 0 else f"no tc netem here: {netem.stderr.strip()}",
        nft=nft_why,
        tbf=None if tbf.returncode == 0 else f"no tc tbf here: {tbf.stderr.strip()}",
        faketime=None if lib else "libfaketime missing: install Debian's faketime",
        faketime_lib=lib,
    )


def _tbf(kbit: int) -> str:
    return f"tbf rate {kbit}kbit burst 16kbit latency 2s"


@dataclass
class Host:
    index: int
    namespace: str
    address: str

    def listen(self, port: int = 4001) -> str:
        return f"/ip4/{self.address}/tcp/{port}"

    def wrap(self) -> list[str]:
        """The argv prefix that runs a command on this host."""
        return ["ip", "netns", "exec", self.namespace]

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` in a thread that sits in this host's network namespace."""
        return in_namespace(self.namespace, fn)


def in_namespace(namespace: str, fn: Callable[[], T]) -> T:
    result: list[tuple[bool, Any]] = []

    def body() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns {namespace}")
            finally:
                os.close(fd)
            result.append((True, fn()))
        except BaseException as e:  # handed to the caller's thread
            result.append((False, e))

    thread = threading.Thread(target=body, name=f"netns-{namespace}")
    thread.start()
    thread.join()
    ok, value = result[0]
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


@dataclass
class Switch:
    """N hosts on one switched /24; faults are applied and lifted here."""

    caps: Capabilities
    run: str = field(default_factory=lambda: f"{PREFIX}{os.getpid()}-{os.urandom(3).hex()}")
    #: The switch's /24: private by default; a UPnP test takes a public one, which the
    #: namespaces never route anywhere (a gateway on a private one is a double NAT).
    subnet: str = SUBNET
    hosts: list[Host] = field(default_factory=list)
    _made: list[str] = field(default_factory=list)

    @property
    def switch_ns(self) -> str:
        return f"{self.run}-sw"

    def start(self, n: int) -> None:
        sw = self.switch_ns
        self._add_namespace(sw)
        for bridge in ("br0", "br1"):
            sh(f"ip -n {sw} link add {bridge} type bridge forward_delay 0")
            sh(f"ip -n {sw} link set {bridge} up")
        for i in range(n):
            ns = f"{self.run}-n{i}"
            self._add_namespace(ns)
            sh(f"ip link add eth0 netns {ns} type veth peer name p{i} netns {sw}")
            sh(f"ip -n {sw} link set p{i} master br0")
            sh(f"ip -n {sw} link set p{i} up")
            address = f"{self.subnet}.{i + 1}"
            sh(f"ip -n {ns} link set lo up")
            sh(f"ip -n {ns} addr add {address}/24 dev eth0")
            sh(f"ip -n {ns} link set eth0 up")
            self.hosts.append(Host(i, ns, address))

    def add_nat_lab(self, *, stealth: bool = False) -> tuple[Host, str]:
        """A lab host behind its own NAT router on the switch; (the lab, its router's
        namespace). Needs nftables (`caps.nft`). `stealth`: the router drops what
        reaches its own public address unasked, as most home routers do, instead of
        answering a closed port's RST (which kills a hole punch's first SYN)."""
        k = len(self.hosts) + 1
        router, lab = f"{self.run}-r{k}", f"{self.run}-l{k}"
        wan, lan, lab_ip = f"{self.subnet}.{k}", f"192.168.{k}.1", f"192.168.{k}.2"
        for ns in (router, lab):
            self._add_namespace(ns)
            sh(f"ip -n {ns} link set lo up")
        sh(f"ip link add wan netns {router} type veth peer name p{k - 1} netns {self.switch_ns}")
        sh(f"ip -n {self.switch_ns} link set p{k - 1} master br0")
        sh(f"ip -n {self.switch_ns} link set p{k - 1} up")
        sh(f"ip link add lan netns {router} type veth peer name eth0 netns {lab}")
        for ns, dev, address in ((router, "wan", f"{wan}/24"), (router, "lan", f"{lan}/24"),
                                 (lab, "eth0", f"{lab_ip}/24")):  # fmt: skip
            sh(f"ip -n {ns} addr add {address} dev {dev}")
            sh(f"ip -n {ns} link set {dev} up")
        sh(f"ip -n {lab} route add default via {lan}")
        sh(f"ip netns exec {router} sysctl -qw net.ipv4.ip_forward=1")
        nft = f"ip netns exec {router} nft"
        sh(f"{nft} add table ip nat")
        sh(f"{nft} add chain ip nat post '{{ type nat hook postrouting priority 100; }}'")
        sh(f"{nft} add rule ip nat post oifname wan masquerade")
        sh(f"{nft} add chain ip nat pre '{{ type nat hook prerouting priority -100; }}'")
        if stealth:
            sh(f"{nft} add table ip filter")
            sh(f"{nft} add chain ip filter input '{{ type filter hook input priority 0; }}'")
            sh(f"{nft} add rule ip filter input iifname wan ct state new drop")
        host = Host(k - 1, lab, lab_ip)
        self.hosts.append(Host(k - 1, router, wan))  # the switch port p<k-1> is the router's
        return host, router

    def forward_port(self, router: str, lab: Host, port: int) -> None:
        """Forward TCP `port` of the router's public address to the lab (DNAT)."""
        rule = f"iifname wan tcp dport {port} dnat to {lab.address}:{port}"
        sh(f"ip netns exec {router} nft add rule ip nat pre {rule}")

    def close(self) -> None:
        for ns in reversed(self._made):
            sh(f"ip netns delete {ns}", check=False)
        self._made.clear()

    def partition(self, side: Sequence[int]) -> None:
        """Cut the hosts in `side` off from all others (they still reach each other)."""
        for i in side:
            sh(f"ip -n {self.switch_ns} link set p{i} master br1")

    def heal(self) -> None:
        for host in self.hosts:
            sh(f"ip -n {self.switch_ns} link set p{host.index} master br0")

    def shape(self, i: int, *, delay_ms: int = 0, jitter_ms: int = 0, loss_pct: int = 0) -> str:
        """Delay, jitter and loss on what host i sends; returns which tool does it."""
        ns = self.hosts[i].namespace
        if self.caps.netem is None:
            delay = f"delay {delay_ms}ms {jitter_ms}ms distribution normal" if delay_ms else ""
            loss = f"loss {loss_pct}%" if loss_pct else ""
            sh(f"tc -n {ns} qdisc replace dev eth0 root netem {delay} {loss}")
            return "netem"
        if delay_ms or jitter_ms:
            raise RuntimeError(self.caps.netem)
        if self.caps.nft is not None:
            raise RuntimeError(self.caps.nft)
        nft = f"ip netns exec {ns} nft"
        sh(f"{nft} add table inet fault")
        sh(f"{nft} add chain inet fault out '{{ type filter hook output priority 0; }}'")
        drop = f"numgen random mod 100 '<' {loss_pct} counter drop"
        sh(f"{nft} add rule inet fault out oifname eth0 {drop}")
        return "nftables"

    def dropped(self, i: int) -> int:
        """Packets the loss on host i has dropped so far (netem's or nftables' count)."""
        ns = self.hosts[i].namespace
        if self.caps.netem is None:
            shown = sh(f"tc -s -n {ns} qdisc show dev eth0").stdout
            return sum(int(n) for n in re.findall(r"dropped (\d+)", shown))
        shown = sh(f"ip netns exec {ns} nft list table inet fault").stdout
        return sum(int(n) for n in re.findall(r"counter packets (\d+)", shown))

    def limit_download(self, i: int, kbit: int) -> None:
        """At most `kbit` kbit/s towards host i (tbf on its switch port)."""
        sh(f"tc -n {self.switch_ns} qdisc replace dev p{i} root {_tbf(kbit)}")

    def unlimit_download(self, i: int) -> None:
        sh(f"tc -n {self.switch_ns} qdisc del dev p{i} root", check=False)

    def _add_namespace(self, name: str) -> None:
        add_namespace(name)
        self._made.append(name)


@contextlib.contextmanager
def switch(caps: Capabilities, n: int, subnet: str = SUBNET) -> Iterator[Switch]:
    net = Switch(caps, subnet=subnet)
    try:
        net.start(n)
        yield net
    finally:
        net.close()


# -- what the NAT tests share ------------------------------------------------------------


def require(reason: str | None, what: str) -> None:
    """Skip the test, saying why, when a capability it needs (`Capabilities`) is missing."""
    if reason is not None:
        pytest.skip(f"{what} skipped: {reason}")


def init_home(root: Path, name: str) -> Path:
    """A new home `root/name` with its identity (`fabnode init`)."""
    home = root / name
    assert fabnode("init", home=home)[0] == 0
    return home


def api_on(host: Host, home: Path, method: str, path: str, body: Any = None) -> Any:
    """A call to the local API of the node of `home`, made from inside `host`."""
    return host.call(lambda: api(home, method, path, body))
