"""Exec a command under the seccomp half of the node's systemd unit, rebuilt without
systemd: `python -m tests.confine COMMAND...`.

systemd (252, Debian 12) implements MemoryDenyWriteExecute=yes and
RestrictAddressFamilies= as seccomp filters (src/shared/seccomp-util.c); this is the
same filter, so a test can run a real node under it where no systemd runs:

- mmap with PROT_WRITE and PROT_EXEC together: EPERM;
- mprotect / pkey_mprotect with PROT_EXEC: EPERM (memory never becomes executable
  after it is mapped, which is what a JIT or an executable stack would need);
- shmat with SHM_EXEC: EPERM;
- socket() of a family other than AF_UNIX, AF_INET, AF_INET6, AF_NETLINK:
  EAFNOSUPPORT.

x86_64 and aarch64 only (the syscall numbers differ per architecture).
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct
import sys
from typing import Final

#: audit architecture and syscall numbers (linux/audit.h, the unistd tables)
ARCHES: Final = {
    "x86_64": (0xC000003E, {"mmap": 9, "mprotect": 10, "shmat": 30, "socket": 41, "pkey": 329}),
    "aarch64": (
        0xC00000B7,
        {"mmap": 222, "mprotect": 226, "shmat": 196, "socket": 198, "pkey": 288},
    ),
}
ALLOWED_FAMILIES: Final = (1, 2, 10, 16)  # AF_UNIX, AF_INET, AF_INET6, AF_NETLINK
PROT_WRITE, PROT_EXEC, SHM_EXEC = 2, 4, 0o100000
# classic BPF opcodes and seccomp return values (linux/filter.h, linux/seccomp.h)
LD_ABS_W, JEQ_K, JSET_K, AND_K, RET_K = 0x20, 0x15, 0x45, 0x54, 0x06
RET_ALLOW: Final = 0x7FFF0000
RET_ERRNO: Final = 0x00050000
NR_AT, ARCH_AT, ARG0_AT, ARG2_AT = 0, 4, 16, 32  # offsets in struct seccomp_data
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2

Step = tuple[int, int, str | None, str | None]  # opcode, k, jump-if-true, jump-if-false


def program() -> list[tuple[str | None, Step]]:
    """The filter as (label, step); jumps name labels."""
    audit, nr = ARCHES[platform.machine()]
    deny_perm = RET_ERRNO | errno.EPERM
    families: list[tuple[str | None, Step]] = [
        (None, (JEQ_K, family, "allow", None)) for family in ALLOWED_FAMILIES
    ]
    return [
        (None, (LD_ABS_W, ARCH_AT, None, None)),
        (None, (JEQ_K, audit, None, "allow")),
        (None, (LD_ABS_W, NR_AT, None, None)),
        (None, (JEQ_K, nr["mmap"], "mmap", None)),
        (None, (JEQ_K, nr["mprotect"], "mprotect", None)),
        (None, (JEQ_K, nr["pkey"], "mprotect", None)),
        (None, (JEQ_K, nr["shmat"], "shmat", None)),
        (None, (JEQ_K, nr["socket"], "socket", "allow")),
        ("mmap", (LD_ABS_W, ARG2_AT, None, None)),
        (None, (AND_K, PROT_WRITE | PROT_EXEC, None, None)),
        (None, (JEQ_K, PROT_WRITE | PROT_EXEC, "deny", "allow")),
        ("mprotect", (LD_ABS_W, ARG2_AT, None, None)),
        (None, (JSET_K, PROT_EXEC, "deny", "allow")),
        ("shmat", (LD_ABS_W, ARG2_AT, None, None)),
        (None, (JSET_K, SHM_EXEC, "deny", "allow")),
        ("socket", (LD_ABS_W, ARG0_AT, None, None)),
        *families,
        (None, (RET_K, RET_ERRNO | errno.EAFNOSUPPORT, None, None)),
        ("allow", (RET_K, RET_ALLOW, None, None)),
        ("deny", (RET_K, deny_perm, None, None)),
    ]


def assemble(steps: list[tuple[str | None, Step]]) -> bytes:
    """struct sock_filter[]: each jump is the count of steps to skip past the next."""
    at = {label: i for i, (label, _) in enumerate(steps) if label}
    out = b""
    for i, (_, (code, k, if_true, if_false)) in enumerate(steps):
        jt = at[if_true] - i - 1 if if_true else 0
        jf = at[if_false] - i - 1 if if_false else 0
        out += struct.pack("=HBBI", code, jt, jf, k)
    return out


class _Prog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


def confine() -> None:
    """Install the filter on this process (inherited across fork and exec)."""
    code = assemble(program())
    buffer = ctypes.create_string_buffer(code, len(code))
    prog = _Prog(len(code) // 8, ctypes.addressof(buffer))
    libc = ctypes.CDLL(None, use_errno=True)
    prctl = libc.prctl
    prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong)
    if prctl(PR_SET_NO_NEW_PRIVS, 1, None, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS")
    if prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_SECCOMP")


if __name__ == "__main__":
    confine()
    os.execvp(sys.argv[1], sys.argv[1:])
