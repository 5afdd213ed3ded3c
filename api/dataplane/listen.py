"""Where each process listens when the Go data plane fronts the control plane: the Go process
on the public `host:port`, the control plane on a Unix socket in a private (0700) directory
under `data_dir`, which only this user — the data plane — can reach."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.errors import DataPlaneFailed
from engine.files import PRIVATE_DIR
from engine.settings import Settings

SUN_PATH_MAX = 107


def control_socket(settings: Settings) -> Path:
    return settings.data_dir / "run" / "control.sock"


def public_address(settings: Settings) -> str:
    host = settings.host
    return f"[{host}]:{settings.port}" if ":" in host else f"{host}:{settings.port}"


def behind_data_plane(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for a control plane behind the data plane (none without one). The
    data plane replaces `X-Forwarded-For` with its peer, so it is believed from the socket."""
    if settings.data_plane != "go":
        return {}
    socket = control_socket(settings)
    if len(str(socket)) > SUN_PATH_MAX:
        raise DataPlaneFailed(f"the control plane's socket path is too long: {socket}")
    socket.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    socket.parent.chmod(PRIVATE_DIR)
    return {"uds": str(socket), "proxy_headers": True, "forwarded_allow_ips": "*"}
