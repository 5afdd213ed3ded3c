"""Shared values for the Kubernetes target's unit tests, and a Pulumi-mocks harness that runs
the per-function program with no CLI and no provider plugin (the only way the S3 variant, which
needs pulumi-aws's plugin, is exercised here)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pulumi

from engine.kubernetes import names
from engine.kubernetes.config import ClusterConfig
from engine.kubernetes.program import build
from engine.spec import FunctionSpec, Limits
from tests.pulumi_mocks import RecordingMocks, Registered, unsecret

KEY = "k3y2abc"
PYTHON_CODE = "def handler(event, context):\n    return {'ok': True}\n"
NODE_PORT = 31234


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


class FunctionMocks(RecordingMocks):
    """Answers with the inputs, plus the node port a Service is given."""

    def provider_state(self, typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        state = dict(unsecret(inputs))
        if typ == "kubernetes:core/v1:Service":
            ports = [{**port, "nodePort": NODE_PORT} for port in state["spec"]["ports"]]
            state["spec"] = {**state["spec"], "ports": ports}
        return state


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
    mocks = FunctionMocks()
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
