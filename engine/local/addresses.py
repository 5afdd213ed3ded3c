"""Where a worker is reached: what the invoke proxy gets (`Upstream`) and what the log says."""

from __future__ import annotations

from engine.formats import endpoint_path
from engine.local.active import ActiveDeployment
from engine.local.process import WorkerProcess
from engine.target import Upstream


def where(worker: WorkerProcess) -> str:
    """`socket <path> (uid N)` or `port N`: where a worker serves, for the log."""
    if worker.box is not None:
        return f"socket {worker.socket_path} (sandbox uid {worker.box.lease.uid})"
    return f"port {worker.port}"


def upstream_of(worker: WorkerProcess, active: ActiveDeployment) -> Upstream:
    limits = active.spec.limits
    return Upstream(
        f"worker-{worker.worker_id}" if worker.socket_path else worker.host,
        worker.port,
        path_prefix=endpoint_path(active.spec.key),
        timeout_ms=limits.timeout_ms,
        concurrency=limits.concurrency,
        auth=active.spec.config.auth,
        socket_path=worker.socket_path,
        function_url_errors=worker.convention == "lambda",
    )
