"""Keep sandboxed workers off this machine's own services (loopback), not off the internet.

Workers share the host's network namespace (their outbound calls must work), so without this a
function could connect to anything listening on a local address: the control plane's API, a
store on a TCP port, a developer's local database. One nftables table rejects every packet a
socket of the sandbox uid range sends over the loopback interface (which carries traffic to
*every* local address, the host's own LAN address included), except DNS to a local resolver.
It is installed (atomically replaced) when the local target starts with the sandbox on and
`nft` is installed; it touches nothing but the sandbox's own uids.
"""

from __future__ import annotations

import functools
import shutil
import subprocess

NFT_TIMEOUT_S = 10.0
RUNTIME_API_PORT_BASE = 62000
MAX_PORT = 65535


def table_name(first_uid: int, count: int) -> str:
    return f"lambdaclone_sandbox_{first_uid}_{count}"


def runtime_api_port_offset(first_uid: int) -> int:
    """uid + this = the one loopback port a sandboxed uid may use: its own Runtime API."""
    return RUNTIME_API_PORT_BASE - first_uid


def ruleset(first_uid: int, count: int) -> str:
    """The nft script: create the table, drop whatever it held, declare it again. A worker's
    uid may reach (and answer on) its own Runtime API port, `RUNTIME_API_PORT_BASE` + its
    place in the range — above the kernel's ephemeral ports, so nothing else is there."""
    name = table_name(first_uid, count)
    uids = f'meta skuid {first_uid}-{first_uid + count - 1} oifname "lo"'
    offset = runtime_api_port_offset(first_uid)
    pairs = ", ".join(
        f"{uid} . {uid + offset}"
        for uid in range(first_uid, first_uid + count)
        if uid + offset <= MAX_PORT
    )
    return (
        f"table inet {name}\n"
        f"delete table inet {name}\n"
        f"table inet {name} {{\n"
        "  set runtime_api {\n"
        "    type uid . inet_service\n"
        + (f"    elements = {{ {pairs} }}\n" if pairs else "")
        + "  }\n"
        "  chain output {\n"
        "    type filter hook output priority 0; policy accept;\n"
        f"    {uids} udp dport 53 accept\n"
        f"    {uids} tcp dport 53 accept\n"
        '    oifname "lo" meta skuid . tcp dport @runtime_api accept\n'
        '    oifname "lo" meta skuid . tcp sport @runtime_api accept\n'
        f"    {uids} meta l4proto tcp reject with tcp reset\n"
        f"    {uids} reject\n"
        "  }\n"
        "}\n"
    )


@functools.cache
def install(first_uid: int, count: int) -> str | None:
    """Install the table; None when done, else why not (the sandbox still runs without it)."""
    nft = shutil.which("nft", path="/usr/sbin:/usr/bin:/sbin:/bin")
    if nft is None:
        return "nft is not installed: sandboxed functions can reach local TCP/UDP services"
    try:
        done = subprocess.run(
            [nft, "-f", "-"],
            input=ruleset(first_uid, count),
            capture_output=True,
            text=True,
            timeout=NFT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"nft failed: {exc}"
    if done.returncode != 0:
        return f"nft refused the loopback rules: {done.stderr.strip()[-300:]}"
    return None
