"""The data plane's binary: built once per hash of its sources with the pinned Go (standard
library only, no module downloads), cached beside the other tools, outside the repo."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from engine.errors import ToolMissing
from engine.tools import cache_dir, pinned_versions

SOURCES = Path(__file__).resolve().parent / "go"
BINARY = "dataplane"


def source_digest() -> str:
    files = [*sorted(SOURCES.glob("*.go")), SOURCES / "go.mod"]
    return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()[:16]


def built_binary() -> Path:
    """The binary for the current sources (blocking: builds it the first time)."""
    out = cache_dir().parent / "dataplane" / source_digest()
    binary = out / BINARY
    if (out / ".complete").is_file():
        return binary
    go = cache_dir() / "runtimes" / f"go-{pinned_versions()['GO_RUNTIME_VERSION']}" / "bin" / "go"
    if not go.is_file():
        raise ToolMissing(f"the data plane needs the pinned Go toolchain at {go} (make tools)")
    env = {**os.environ, "CGO_ENABLED": "0", "GOPROXY": "off", "GOFLAGS": "-mod=mod"}
    done = subprocess.run(
        [str(go), "build", "-trimpath", "-o", str(binary), "."],
        cwd=SOURCES,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise ToolMissing(f"building the data plane failed: {done.stderr.strip()[-2000:]}")
    (out / ".complete").touch()
    return binary
