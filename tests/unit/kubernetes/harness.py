"""Shared values for the Kubernetes target's unit tests, and a Pulumi-mocks harness that runs
the per-function program with no CLI and no provider plugin (the only way the S3 variant, which
needs pulumi-aws's plugin, is exercised here)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pulumi
from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks

from engine.kubernetes import names
from engine.kubernetes.config import ClusterConfig
from engine.kubernetes.program import build
from engine.spec import FunctionSpec, Limits

KEY = "k3y2abc"
PYTHON_CODE = "def handler(event, context):\n    return {'ok': True}\n"
NODE_PORT = 31234
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def make_spec(**overrides: Any) -> FunctionSpec:
    values: dict[str, Any] = {
        "key": KEY,
        "name": "hello",
        "runtime": "python",
        "version": "3.12",
        "handler": "handler.handler",
        "code": PYTHON_CODE,
        "image": "lambdaclone/runtime-python:3.12",
        "env": (("GREETING", "hi"),),
        "limits": Limits(memory_mb=256, timeout_ms=5000, concurrency=4),
    }
    values.update(overrides)
    return FunctionSpec(**values)


def make_config(**overrides: Any) -> ClusterConfig:
    base = ClusterConfig(
        namespace="fns",
        code_store="configmap",
        image_registry="registry.example/lc",
        ingress_class="alb",
        ingress_group="lambdaclone",
        kubeconfig="apiVersion: v1\nkind: Config\n",
    )
    return replace(base, **overrides)


def unsecret(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(_SIG_KEY) == _SECRET_SIG:
            return unsecret(value["value"])
        return {k: unsecret(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unsecret(v) for v in value]
    return value


@dataclass(frozen=True)
class Registered:
    type: str
    name: str
    inputs: dict[str, Any]
    provider: str | None

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self.inputs.get("metadata", {}))


class RecordingMocks(Mocks):
    def __init__(self) -> None:
        self.resources: list[Registered] = []

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(unsecret(args.inputs))
        self.resources.append(Registered(args.typ, args.name, inputs, args.provider))
        state = dict(inputs)
        if args.typ == "kubernetes:core/v1:Service":
            ports = [{**port, "nodePort": NODE_PORT} for port in inputs["spec"]["ports"]]
            state["spec"] = {**inputs["spec"], "ports": ports}
        return f"{args.name}-id", state

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, []


@dataclass
class ProgramRun:
    resources: list[Registered]
    node_port: int = 0

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> Registered:
        found = self.of_type(type_)
        assert len(found) == 1, f"expected one {type_}, got {len(found)}"
        return found[0]

    @property
    def types(self) -> set[str]:
        return {r.type for r in self.resources}

    @property
    def pod_spec(self) -> dict[str, Any]:
        deployment = self.one("kubernetes:apps/v1:Deployment")
        return dict(deployment.inputs["spec"]["template"]["spec"])


def run_program(spec: FunctionSpec, cfg: ClusterConfig) -> ProgramRun:
    """Build the function's program under mocks; returns once every resource is registered."""
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(
        mocks, project=names.PROJECT, stack=names.stack_name(spec.key), preview=False
    )
    run = ProgramRun(resources=mocks.resources)

    @pulumi.runtime.test  # type: ignore[untyped-decorator]  # the SDK leaves it untyped
    def program() -> pulumi.Output[None]:
        function = build(spec, cfg)

        def record(values: list[Any]) -> None:
            run.node_port = int(values[-1])

        urns = [
            function.code.urn,
            function.deployment.urn,
            function.service.urn,
            function.ingress.urn,
        ]
        return pulumi.Output.all(*urns, function.node_port).apply(record)

    program()
    return run
