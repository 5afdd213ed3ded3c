"""The event options at the door (pure rules): an unknown event format or a route template
API Gateway would not take is `invalid_event_format` / `invalid_route`; good ones round-trip
through the settings codec, and reach a worker's environment only when not the default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.catalog import Catalog, RuntimeEntry
from engine.errors import InvalidInput
from engine.spec import FunctionConfig, Routes
from engine.validation import validate_create
from runtimes.contract import MAX_ROUTES, parse_route, worker_env
from runtimes.registry import RuntimeName

PY = RuntimeEntry(RuntimeName("python"), "3.12", "img/py:3.12", "# py", "handler.handler", "p")
CATALOG = Catalog((PY,), PY)
GOOD = ["GET /items/{id}", "ANY /files/{proxy+}", "POST /", "GET /a/b.json", "$default"]


def create(**changes: Any) -> FunctionConfig:
    return validate_create("k", {"name": "f", **changes}, "x", CATALOG, 100).config


def refused(**changes: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        create(**changes)
    return info.value


def test_good_options_are_kept_and_round_trip() -> None:
    config = create(event_format="1.0", routes=GOOD)
    assert (config.event_format, config.routes) == ("1.0", Routes(tuple(GOOD)))
    assert FunctionConfig.from_data(config.to_data()) == config
    assert config.to_data()["routes"] == GOOD
    defaults = create()
    assert (defaults.event_format, defaults.routes.items) == ("2.0", ())


@pytest.mark.parametrize("event_format", ["3.0", "1", "", 1.0, None])
def test_an_unknown_event_format_is_refused(event_format: object) -> None:
    error = refused(event_format=event_format)
    assert (error.code, error.field) == ("invalid_event_format", "event_format")


@pytest.mark.parametrize(
    "route",
    [
        "FETCH /x",  # not a method
        "get /x",  # methods are upper case
        "GET x",  # no leading slash
        "GET",
        "GET /a//b",  # an empty segment
        "GET /a/",  # a trailing slash
        "GET /{proxy+}/more",  # greedy only last
        "GET /{id}/{id}",  # a variable twice
        "GET /items/{id}.json",  # variables are whole segments
        "GET /a b",
        "GET /{}",
        "$DEFAULT",
        "",
        "GET /" + "a" * 600,
        7,
    ],
)
def test_a_bad_route_template_is_refused(route: object) -> None:
    error = refused(routes=[route])
    assert (error.code, error.field) == ("invalid_route", "routes")


@pytest.mark.parametrize(
    "routes",
    [["GET /x", "GET /x"], ["$default", "$default"], [f"GET /r{i}" for i in range(MAX_ROUTES + 1)]],
)
def test_duplicate_or_too_many_routes_are_refused(routes: list[str]) -> None:
    assert refused(routes=routes).code == "invalid_route"


def test_a_route_is_parsed_into_its_segments() -> None:
    route = parse_route("ANY /files/{proxy+}")
    assert (route.method, route.path, route.segments) == (
        "ANY",
        "/files/{proxy+}",
        ("files", "{proxy+}"),
    )


def test_the_worker_env_names_only_options_that_differ_from_the_default() -> None:
    def env(**options: Any) -> dict[str, str]:
        every = worker_env(
            port=1,
            code_dir=Path("/c"),
            handler="h.h",
            function_name="f",
            function_key="k",
            memory_mb=128,
            timeout_ms=1000,
            **options,
        )
        return {k: v for k, v in every.items() if k in ("LAMBDA_EVENT_FORMAT", "LAMBDA_ROUTES")}

    assert env() == {}
    assert env(event_format="1.0", routes=("GET /x/{id}",)) == {
        "LAMBDA_EVENT_FORMAT": "1.0",
        "LAMBDA_ROUTES": '["GET /x/{id}"]',
    }
