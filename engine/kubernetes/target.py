"""`KubernetesTarget`: the provider contract on one Pulumi stack per function.

Every call blocks (the operation runner calls them from its threads) except `upstream`, which
reads a stack's outputs in a thread the first time a function is invoked after a restart.
Besides Pulumi, the target reads the cluster through the Kubernetes API (`cluster_api.py`) with
the same credentials: to wait for rollouts, to see pods go after a delete, and for `logs`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading

from pulumi import automation as auto

from engine.artifact_tar import Signer
from engine.errors import FunctionNotFound, FunctionNotReady, TargetError
from engine.kubernetes import names, pod_logs
from engine.kubernetes.actions import ClusterAccess, apply_stack, destroy_stack, preview_stack
from engine.kubernetes.base_stack import cluster_config
from engine.kubernetes.builds import ArtifactBuilder, FunctionArtifacts
from engine.kubernetes.cluster_api import KubeApi
from engine.kubernetes.config import ClusterConfig
from engine.kubernetes.recovery import recover
from engine.kubernetes.rollout_wait import function_pods
from engine.kubernetes.stacks import StackService, pulumi_failure
from engine.layer_source import read_layer
from engine.plan import Plan
from engine.settings import Settings
from engine.spec import FunctionSpec, Secrets
from engine.target import ProgressSink, SecretOpener, Upstream


class KubernetesTarget:
    name = "kubernetes"

    def __init__(self, settings: Settings, secrets: SecretOpener | None = None) -> None:
        self.settings = settings
        self.service = StackService(settings)
        self._config: ClusterConfig | None = None
        self._api: KubeApi | None = None
        self._secrets: SecretOpener = secrets or NoSecretOpener()
        self._config_lock = threading.Lock()
        self._upstreams: dict[str, Upstream] = {}
        signer = self._secrets if isinstance(self._secrets, Signer) else None
        builder = ArtifactBuilder.under(settings.data_dir, functools.partial(_read_layer, settings))
        self.artifacts = FunctionArtifacts(builder, signer)

    def config(self) -> ClusterConfig:
        """Resolved on first use (reading a base stack runs the CLI), then kept."""
        with self._config_lock:
            if self._config is None:
                self._config = cluster_config(self.service)
            return self._config

    def api(self) -> KubeApi:
        """The Kubernetes API client for the configured cluster, made on first use."""
        cfg = self.config()
        with self._config_lock:
            if self._api is None:
                self._api = KubeApi.connect(cfg.kubeconfig, cfg.context)
            return self._api

    def access(self) -> ClusterAccess:
        return ClusterAccess(self.api(), self._secrets, self.artifacts)

    # --- provisioning -----------------------------------------------------------------------
    def preview(self, current: FunctionSpec | None, desired: FunctionSpec) -> Plan:
        names.check_key(desired.key)
        cfg = self.config()
        return self.service.run(
            desired.key,
            lambda: preview_stack(self.service, cfg, current, desired, self.access()),
        )

    def apply(self, spec: FunctionSpec, progress: ProgressSink) -> None:
        names.check_key(spec.key)
        cfg, access = self.config(), self.access()
        self._upstreams.pop(spec.key, None)
        self.service.run(spec.key, lambda: apply_stack(self.service, cfg, spec, progress, access))

    def destroy(self, key: str, progress: ProgressSink) -> None:
        names.check_key(key)
        cfg, access = self.config(), self.access()
        self._upstreams.pop(key, None)
        self.service.run(key, lambda: destroy_stack(self.service, cfg, key, progress, access))

    def recover(self, progress: ProgressSink) -> None:
        recover(self.service, self.config(), progress, self.access())

    def close(self) -> None:
        self.service.close()
        if self._api is not None:
            self._api.close()

    # --- invoking ---------------------------------------------------------------------------
    async def upstream(self, key: str) -> Upstream:
        cached = self._upstreams.get(key)
        if cached is not None:
            return cached
        found = await asyncio.to_thread(self.resolve_upstream, key)
        return self._upstreams.setdefault(key, found)

    def resolve_upstream(self, key: str) -> Upstream:
        """The Service's cluster DNS name or cluster IP, or a node's NodePort, from the stack's
        outputs (see `settings.k8s_upstream`)."""
        outputs = self._outputs(key)
        cfg = self.config()
        mode = self.settings.k8s_upstream
        if mode == "nodeport":
            host, port = self.settings.k8s_node_host, int(str(outputs.get("nodePort", 0)))
        elif mode == "clusterip":
            host, port = str(outputs.get("clusterIp", "")), names.SERVICE_PORT
        else:
            host, port = names.service_host(key, cfg.namespace), names.SERVICE_PORT
        if not port or not host:
            raise FunctionNotReady(f"function {key} has no {mode} address yet")
        return Upstream(
            host=host,
            port=port,
            path_prefix=names.endpoint_path(key),
            timeout_ms=int(str(outputs["timeoutMs"])),
            concurrency=int(str(outputs["concurrency"])),
            auth=str(outputs.get("auth", "token")),  # a stack that does not say: not public
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

    # --- logs (the LogSource capability) --------------------------------------------------------
    def logs(self, key: str, limit: int) -> list[dict[str, object]]:
        """The function's pods' output and what happened to their containers (OOM kills,
        crashes, back-offs), oldest first, through the Kubernetes API (`pods`, `pods/log`)."""
        names.check_key(key)
        cfg, api = self.config(), self.api()
        pods = function_pods(api, cfg.namespace, key)
        if not pods and not self.service.layout.workspace(key).is_dir():
            raise FunctionNotFound(key)
        return pod_logs.recent_lines(api, cfg.namespace, pods, limit)


class NoSecretOpener:
    """For a target made without the control plane's keyring (tools, benches): functions
    without secrets provision as usual, one with secrets fails clearly instead of starting
    without them."""

    def open(self, secrets: Secrets) -> dict[str, str]:
        if secrets.values:
            raise TargetError("this Kubernetes target was given no key to open secrets with")
        return {}


def _read_layer(settings: Settings, location: str) -> str:
    """A layer version's content for a build, on a thread of its own: `read_layer` runs its
    own event loop, and the caller may be running one."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(read_layer, settings, location).result()
