"""How one deployment's worker is launched: its runtime's pinned interpreter (or the build it
produced), its environment, and — where the machine sandboxes — what its sandbox contains.

A sandboxed worker sees its code at /var/task, serves on /run/fn/http.sock and gets only its
runtime bound read-only: the runtime's tree from the tool cache and the wrapper's files
(`runtimes/__init__.py`, `runtimes/contract.py`, `runtimes/<name>/`), or, for a runtime that
builds, only the build's output. Its environment is a fresh minimal one (PATH, HOME=/tmp, the
locale and time zone), never the control plane's.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.catalog import BUILTIN_VERSIONS
from engine.formats import endpoint_path
from engine.local import build, layers, netguard
from engine.local.launch import Launch
from engine.local.layout import Layout, deployment_name
from engine.local.sandbox import BoxRequest, SandboxHost
from engine.local.sandbox_argv import HOME, PATH, SOCKET_PATH, TASK_DIR
from engine.local.spares import SparePlan, SparePool
from engine.local.toolchains import InstalledRuntime, Toolchains
from engine.settings import Settings
from engine.spec import FunctionSpec
from engine.target import SecretOpener
from runtimes.contract import worker_env
from runtimes.driver import RUNTIMES_DIR, RuntimeDriver
from runtimes.registry import RUNTIME_API, driver, drivers

MIB = 1024 * 1024
HOST = "127.0.0.1"
WRAPPER_FILES = (RUNTIMES_DIR / "__init__.py", RUNTIMES_DIR / "contract.py")
SANDBOX_ENV_NAMES = ("LANG", "LC_ALL", "TZ")


def sandbox_env() -> dict[str, str]:
    """A sandboxed worker's base environment: nothing of the control plane's but the locale."""
    env = {"PATH": PATH, "HOME": HOME, "TMPDIR": HOME}
    return env | {name: os.environ[name] for name in SANDBOX_ENV_NAMES if name in os.environ}


class Launcher:
    def __init__(
        self,
        settings: Settings,
        layout: Layout,
        toolchains: Toolchains,
        *,
        instance: str,
        box_host: SandboxHost | None,
        secrets: SecretOpener,
    ) -> None:
        self.settings = settings
        self.layout = layout
        self.toolchains = toolchains
        self.instance = instance
        self.box_host = box_host
        self._secrets = secrets

    def artifact(self, spec: FunctionSpec, code_dir: Path) -> Path | None:
        toolchain = self.toolchains.get(spec.runtime, spec.runtime_version)
        return build.ensure_artifact(self.layout, spec, code_dir, toolchain)

    def __call__(self, spec: FunctionSpec, port: int) -> Launch:
        runtime = driver(spec.runtime)
        installed = self.toolchains.installed(spec.runtime, spec.runtime_version)
        code_dir = self.layout.deployment_dir(spec.key, spec.spec_hash)
        artifact = self.artifact(spec, code_dir)
        # A Lambda program (Go's `lambda.Start`) is served by the Runtime API worker
        bootstrap = runtime.runtime_api_bootstrap(artifact, spec.code)
        worker = driver(RUNTIME_API) if bootstrap is not None else runtime
        if bootstrap is not None:
            installed = self.toolchains.installed(RUNTIME_API, dict(BUILTIN_VERSIONS)[RUNTIME_API])
        boxed = self.box_host is not None
        env = worker_env(
            port=port,
            code_dir=Path(TASK_DIR) if boxed else code_dir,
            handler=spec.handler,
            function_name=spec.name,
            function_key=spec.key,
            memory_mb=spec.limits.memory_mb,
            timeout_ms=spec.limits.timeout_ms,
            host=HOST,
            path_prefix=endpoint_path(spec.key),
            convention=spec.config.convention,
            event_format=spec.config.event_format,
            routes=spec.config.routes.items,
            user_env={**spec.env.as_dict(), **self._secrets.open(spec.config.secrets)},
            socket_path=SOCKET_PATH if boxed else None,
            region=self.settings.aws_region,
            execution_env=runtime.execution_env(spec.runtime_version),
            runtime_dir=worker.folder,
            bootstrap=bootstrap,
            runtime_api_port_offset=self._runtime_api_port_offset(),
        )
        box = None
        if boxed:
            ro_paths = _ro_paths(worker, installed, None if bootstrap else artifact)
            ro_paths += (artifact,) if bootstrap is not None and artifact is not None else ()
            box = BoxRequest("", spec.limits.memory_mb * MIB, code_dir, ro_paths)
        prewarm = worker.prewarm
        launch = Launch(
            key=spec.key,
            runtime=spec.runtime,
            deployment=deployment_name(spec.spec_hash),
            instance=self.instance,
            host=HOST,
            port=port,
            argv=tuple(worker.launch(installed.toolchain, artifact)),
            env={**self._base_env(), **env},
            cwd=code_dir,
            box=box,
            box_host=self.box_host,
            use_spare=prewarm is not None and prewarm.can_configure(spec.env.as_dict()),
        )
        return layers.with_layers(launch, spec, self.layout, self.settings)

    def spare_pools(self, versions: dict[str, str]) -> dict[str, SparePool]:
        """One pool per runtime whose driver can pre-start workers and whose catalog version
        (`versions`) is in the tool cache."""
        if not self.settings.prewarm_workers:
            return {}
        pools: dict[str, SparePool] = {}
        for name, runtime in drivers().items():
            version = versions.get(name)
            if runtime.prewarm is None or version is None:
                continue
            if not self.toolchains.available(name, version):
                continue
            installed = self.toolchains.installed(name, version)
            plan = SparePlan(
                argv=tuple(runtime.prewarm.argv(runtime.launch(installed.toolchain, None))),
                env=self._base_env(),
                instance=self.instance,
                spares_dir=self.layout.spares,
                ro_paths=_ro_paths(runtime, installed, None),
                box_host=self.box_host,
            )
            pools[name] = SparePool(runtime.prewarm, plan)
        return pools

    def _runtime_api_port_offset(self) -> int | None:
        """Sandboxed: where a worker's Runtime API listens (the port its uid may use)."""
        if self.box_host is None:
            return None
        return netguard.runtime_api_port_offset(self.box_host.uids.first)

    def _base_env(self) -> dict[str, str]:
        return sandbox_env() if self.box_host is not None else build.base_env()


def _ro_paths(
    runtime: RuntimeDriver, installed: InstalledRuntime, artifact: Path | None
) -> tuple[Path, ...]:
    """What a sandboxed worker of `runtime` needs to see, besides its code."""
    if runtime.builds and artifact is not None:
        return (artifact,)
    return (installed.root, *WRAPPER_FILES, *runtime.folders)
