"""`KubernetesTarget`: the provider contract on one Pulumi stack per function.

Every call blocks (the operation runner calls them from its threads) except `upstream`, which
reads a stack's outputs in a thread the first time a function is invoked after a restart.
"""

from __future__ import annotations

import asyncio
import threading

from pulumi import automation as auto

from engine.errors import FunctionNotReady
from engine.kubernetes import names
from engine.kubernetes.actions import apply_stack, destroy_stack, preview_stack
from engine.kubernetes.base_stack import cluster_config
from engine.kubernetes.config import ClusterConfig
from engine.kubernetes.recovery import recover
from engine.kubernetes.stacks import StackService, pulumi_failure
from engine.plan import Plan
from engine.settings import Settings
from engine.spec import FunctionSpec
from engine.target import ProgressSink, Upstream


class KubernetesTarget:
    name = "kubernetes"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.service = StackService(settings)
        self._config: ClusterConfig | None = None
        self._config_lock = threading.Lock()
        self._upstreams: dict[str, Upstream] = {}

    def config(self) -> ClusterConfig:
        """Resolved on first use (reading a base stack runs the CLI), then kept."""
        with self._config_lock:
            if self._config is None:
                self._config = cluster_config(self.service)
            return self._config

    # --- provisioning -----------------------------------------------------------------------
    def preview(self, current: FunctionSpec | None, desired: FunctionSpec) -> Plan:
        names.check_key(desired.key)
        cfg = self.config()
        return self.service.run(
            desired.key, lambda: preview_stack(self.service, cfg, current, desired)
        )

    def apply(self, spec: FunctionSpec, progress: ProgressSink) -> None:
        names.check_key(spec.key)
        cfg = self.config()
        self._upstreams.pop(spec.key, None)
        self.service.run(spec.key, lambda: apply_stack(self.service, cfg, spec, progress))

    def destroy(self, key: str, progress: ProgressSink) -> None:
        names.check_key(key)
        self._upstreams.pop(key, None)
        self.service.run(key, lambda: destroy_stack(self.service, key, progress))

    def recover(self, progress: ProgressSink) -> None:
        recover(self.service, self.config(), progress)

    def close(self) -> None:
        self.service.close()

    # --- invoking ---------------------------------------------------------------------------
    async def upstream(self, key: str) -> Upstream:
        cached = self._upstreams.get(key)
        if cached is not None:
            return cached
        found = await asyncio.to_thread(self.resolve_upstream, key)
        return self._upstreams.setdefault(key, found)

    def resolve_upstream(self, key: str) -> Upstream:
        """The Service's cluster DNS name (or a node's NodePort), from the stack's outputs."""
        outputs = self._outputs(key)
        cfg = self.config()
        if self.settings.k8s_upstream == "nodeport":
            host, port = self.settings.k8s_node_host, int(str(outputs.get("nodePort", 0)))
        else:
            host, port = names.service_host(key, cfg.namespace), names.SERVICE_PORT
        if not port:
            raise FunctionNotReady(f"function {key} has no node port yet")
        return Upstream(
            host=host,
            port=port,
            path_prefix=names.endpoint_path(key),
            timeout_ms=int(str(outputs["timeoutMs"])),
            concurrency=int(str(outputs["concurrency"])),
        )

    def _outputs(self, key: str) -> dict[str, object]:
        if not self.service.layout.workspace(key).is_dir():
            raise FunctionNotReady(f"function {key} is not provisioned")
        work_dir = self.service.layout.workspace(key)
        workspace = self.service.workspace(work_dir, write_project=False)
        try:
            outputs = workspace.stack_outputs(names.stack_name(key))
        except auto.StackNotFoundError as exc:
            raise FunctionNotReady(f"function {key} is not provisioned") from exc
        except auto.CommandError as exc:
            raise pulumi_failure("stack output", exc) from exc
        if "timeoutMs" not in outputs:
            raise FunctionNotReady(f"function {key} has not finished provisioning")
        return {name: output.value for name, output in outputs.items()}
