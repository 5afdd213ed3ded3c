"""The sandbox's seccomp filter, as a classic-BPF program built here (no libseccomp): pure bytes.

It closes the one door the launch leaves open (see docs/adr/0032-sandboxed-local-workers.md):
bwrap runs as root without a user namespace, so nothing else stops a function from creating
its own user namespace (kernel attack surface). Denied with EPERM: `unshare`/`clone` with
`CLONE_NEWUSER`, the `TIOCSTI` ioctl (typing into a terminal), and every non-x86_64 system-call
ABI (x32, i386), whose numbers the rules below do not cover. `clone3` answers ENOSYS so the C
library falls back to `clone`, whose flags a filter can read (clone3 passes them in memory).
"""

from __future__ import annotations

import platform
import struct

_LD_ABS_W = 0x20
_JEQ_K = 0x15
_JSET_K = 0x45
_RET_K = 0x06
_ALLOW = 0x7FFF0000
_ERRNO = 0x00050000
_EPERM = 1
_ENOSYS = 38
_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_BIT = 0x40000000
_NR_IOCTL, _NR_CLONE, _NR_UNSHARE, _NR_CLONE3 = 16, 56, 272, 435
_CLONE_NEWUSER = 0x10000000
_TIOCSTI = 0x5412
# offsets in struct seccomp_data: nr, arch, instruction_pointer, args[6] (low words first)
_NR, _ARCH, _ARG0, _ARG1 = 0, 4, 16, 24

Instruction = tuple[str, int, str | None, str | None, int]
"""(label, opcode, jump-if-true label, jump-if-false label, operand)"""

_PROGRAM: tuple[Instruction, ...] = (
    ("", _LD_ABS_W, None, None, _ARCH),
    ("", _JEQ_K, None, "deny", _AUDIT_ARCH_X86_64),
    ("", _LD_ABS_W, None, None, _NR),
    ("", _JSET_K, "deny", None, _X32_BIT),
    ("", _JEQ_K, "flags", None, _NR_UNSHARE),
    ("", _JEQ_K, "flags", None, _NR_CLONE),
    ("", _JEQ_K, "nosys", None, _NR_CLONE3),
    ("", _JEQ_K, "ioctl", None, _NR_IOCTL),
    ("", _RET_K, None, None, _ALLOW),
    ("flags", _LD_ABS_W, None, None, _ARG0),
    ("", _JSET_K, "deny", None, _CLONE_NEWUSER),
    ("", _RET_K, None, None, _ALLOW),
    ("ioctl", _LD_ABS_W, None, None, _ARG1),
    ("", _JEQ_K, "deny", None, _TIOCSTI),
    ("", _RET_K, None, None, _ALLOW),
    ("deny", _RET_K, None, None, _ERRNO | _EPERM),
    ("nosys", _RET_K, None, None, _ERRNO | _ENOSYS),
)


def supported() -> bool:
    """The system-call numbers above are x86_64's."""
    return platform.machine() == "x86_64"


def program() -> bytes:
    """The filter as `struct sock_filter[]`, what `bwrap --seccomp FD` reads."""
    where = {label: i for i, (label, *_) in enumerate(_PROGRAM) if label}
    out = bytearray()
    for i, (_, code, if_true, if_false, operand) in enumerate(_PROGRAM):
        out += struct.pack(
            "<HBBI", code, _jump(where, if_true, i), _jump(where, if_false, i), operand
        )
    return bytes(out)


def _jump(where: dict[str, int], label: str | None, at: int) -> int:
    return 0 if label is None else where[label] - at - 1
