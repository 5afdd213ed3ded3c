"""Every runtime the platform knows, found by looking: each folder of `runtimes/` whose
`driver` module defines `DRIVER`. Adding a runtime is adding a folder; nothing lists them.

`RuntimeName` is a runtime's name once the registry has vouched for it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from functools import cache
from typing import NewType

import runtimes
from runtimes.driver import RuntimeDriver

RuntimeName = NewType("RuntimeName", str)
RUNTIME_API = RuntimeName("provided")
"""The runtime whose worker serves the Lambda Runtime API: `provided` functions, and the
programs of other runtimes that bring their own runtime client (Go's `lambda.Start`)."""


class UnknownRuntimeError(LookupError):
    """No folder of `runtimes/` declares this runtime."""


@cache
def drivers() -> Mapping[RuntimeName, RuntimeDriver]:
    found: dict[RuntimeName, RuntimeDriver] = {}
    for module in sorted(pkgutil.iter_modules(runtimes.__path__), key=lambda m: m.name):
        if not module.ispkg:
            continue
        try:
            driver_module = importlib.import_module(f"runtimes.{module.name}.driver")
        except ModuleNotFoundError as exc:
            if exc.name != f"runtimes.{module.name}.driver":
                raise
            continue
        driver: RuntimeDriver = driver_module.DRIVER
        found[RuntimeName(driver.name)] = driver
    return found


def names() -> tuple[RuntimeName, ...]:
    return tuple(drivers())


def runtime_name(value: str) -> RuntimeName:
    """`value` as a runtime name, if a driver declares it."""
    if value not in drivers():
        raise UnknownRuntimeError(value)
    return RuntimeName(value)


def driver(name: str) -> RuntimeDriver:
    try:
        return drivers()[RuntimeName(name)]
    except KeyError:
        raise UnknownRuntimeError(name) from None
