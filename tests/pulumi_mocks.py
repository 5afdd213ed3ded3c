"""Pulumi mocks that record what a program registers, shared by the unit tests that run a Pulumi
program with no CLI and no provider plugin (the base stack in tests/unit/infra, the per-function
program in tests/unit/kubernetes).

`pulumi.runtime.set_mocks` replaces the engine; `RecordingMocks` plays the providers. Each
harness subclasses it to say what a provider would answer (`provider_state`, `call_result`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks

# How the mock monitor hands a secret input over: {SIG_KEY: SECRET_SIG, "value": ...}.
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def is_secret_input(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG


def unsecret(value: Any) -> Any:
    """Inputs as plain values: the mock monitor hands secret inputs over wrapped."""
    if isinstance(value, dict):
        if is_secret_input(value):
            return unsecret(value["value"])
        return {key: unsecret(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unsecret(item) for item in value]
    return value


@dataclass(frozen=True)
class Registered:
    """One registered resource: its inputs as sent (secrets wrapped) and the state answered."""

    type: str
    name: str
    raw_inputs: dict[str, Any]
    state: dict[str, Any]
    provider: str | None = None

    @property
    def inputs(self) -> dict[str, Any]:
        return dict(unsecret(self.raw_inputs))

    def json_input(self, key: str) -> Any:
        return json.loads(self.inputs[key])

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self.inputs.get("metadata", {}))


class RecordingMocks(Mocks):
    """Records every registration and call; answers with the inputs and no call results."""

    def __init__(self) -> None:
        self.resources: list[Registered] = []
        self.calls: list[MockCallArgs] = []

    def provider_state(self, typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """The state a provider would answer with; override to add computed attributes."""
        return dict(inputs)

    def call_result(self, args: MockCallArgs) -> dict[str, Any]:
        """What an invoke (a data source) answers; override to answer the ones used."""
        return {}

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)
        state = self.provider_state(args.typ, args.name, inputs)
        self.resources.append(Registered(args.typ, args.name, inputs, state, args.provider))
        return f"{args.name}-id", state

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        self.calls.append(args)
        return self.call_result(args), []
