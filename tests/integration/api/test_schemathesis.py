"""schemathesis over the served `/openapi.json`: every documented operation, with data that fits
its schema and data that does not, against the real app (FerretDB, the control plane's uvicorn
options). Every answer must be documented (status, content type, headers, body schema), no
answer may be a server error, and invalid data must be refused.

The run is fixed (a seed and an example count per operation), so it is repeatable and short;
a failure prints the request that reproduces it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok

from engine.settings import Settings
from tests.fixtures.api import AUTH
from tests.fixtures.fake_target import FakeTarget
from tests.integration.api.test_http_limits import served

EXAMPLES = 25
SEED = 20_261_201
EXCLUDED = [schemathesis.checks.positive_data_acceptance]
"""Rules beyond what a schema can say are refused with 422 by design: an opaque `cursor` this
API never returned, the code required once (as `file`, `code` or an upload), a runtime and
version in the catalog, a handler its runtime can load, reserved variable names."""
SKIPPED = {
    # Documented, but only proxied: what a function answers is the function's (its own docs).
    "invoke_get",
    "invoke_head",
    "invoke_post",
    "invoke_put",
    "invoke_patch",
    "invoke_delete",
    "invoke_options",
}


@dataclass
class LoggingFakeTarget(FakeTarget):
    """The fake target, keeping (no) logs like the local one, so `/lambda/logs` is served."""

    def logs(self, key: str, limit: int) -> list[dict[str, object]]:
        del limit
        if key not in self.applied:
            from engine.errors import FunctionNotFound  # noqa: PLC0415

            raise FunctionNotFound(key)
        return []


@pytest.fixture
def base_url(settings: Settings) -> Iterator[str]:
    # schemathesis sends many bad tokens on purpose: each must be a 401, so the sign-in
    # failure limit (its 429s are tested in test_access.py) is lifted here
    unlimited = settings.model_copy(update={"signin_failures_per_minute": 1_000_000})
    with served(unlimited, LoggingFakeTarget()) as url:
        yield url


def test_every_operation_answers_as_documented(base_url: str) -> None:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", headers=AUTH)
    failures: list[str] = []
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results), "every operation's schema can be read"
    checked = [op for op in operations if op.definition.raw.get("operationId") not in SKIPPED]
    assert len(checked) >= 15, [op.label for op in operations]
    for operation in checked:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz(operation, mode, base_url)
            except FailureGroup as exc:
                failures.append(f"{operation.label} ({mode}): {exc}")
    assert not failures, "\n\n".join(failures)


def test_every_path_answers_an_undocumented_method_405_with_its_allow_header(
    base_url: str,
) -> None:
    paths = httpx.get(f"{base_url}/openapi.json").json()["paths"]
    wrong = []
    for path, operations in paths.items():
        if path.startswith("/endpoint/"):
            continue  # a function answers any method
        documented = {method.upper() for method in operations}
        url = base_url + path.replace("{operation_id}", "x")
        for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - documented):
            answer = httpx.request(method, url, headers=AUTH)
            allow = set(answer.headers.get("allow", "").split(", ")) - {"HEAD"}
            error = answer.json()["error"]["code"]
            if (answer.status_code, error, allow) != (405, "method_not_allowed", documented):
                wrong.append(f"{method} {path}: {answer.status_code} {error} Allow {allow}")
    assert not wrong, wrong


def fuzz(
    operation: schemathesis.APIOperation[Any, Any, Any, Any], mode: GenerationMode, base_url: str
) -> None:
    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=False,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case[Any]) -> None:
        case.call_and_validate(base_url=base_url, headers=AUTH, excluded_checks=EXCLUDED)

    run()
