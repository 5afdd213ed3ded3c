"""One part of `make test` split into shards (`tests/parts.py`, ADR 0054).

A shard gets whole *units*: a module (its module-scoped fixtures start once), or every test of
the kwok cluster together (`KWOK_UNIT`: that cluster starts once per process, so it stays in
one). The units are shared out by their recorded time (`tests/durations.json`: seconds per
unit in a `make test` run, all parts at once), the longest first, each to the shard with the
least so far; a unit not recorded counts `UNRECORDED_S_PER_TEST` per test. Every shard
computes the same split from the same collected tests, so together they run each selected test
exactly once.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

DURATIONS = Path(__file__).with_name("durations.json")
UNRECORDED_S_PER_TEST = 0.5
KWOK_UNIT = "the kwok cluster"


def recorded_durations() -> dict[str, float]:
    loaded: dict[str, float] = json.loads(DURATIONS.read_text(encoding="utf-8"))
    return loaded


def unit_of(item: pytest.Item) -> str:
    """The kwok cluster's tests are one unit (`tests/conftest.py` marks them `cluster`)."""
    if item.get_closest_marker("cluster"):
        return KWOK_UNIT
    return item.nodeid.split("::", 1)[0]


def assign(costs: dict[str, float], count: int) -> dict[str, int]:
    """unit → shard, balancing the shards' total cost (deterministic: ties by name)."""
    totals = [0.0] * count
    shards: dict[str, int] = {}
    for unit in sorted(costs, key=lambda u: (-costs[u], u)):
        lightest = min(range(count), key=lambda n: (totals[n], n))
        shards[unit] = lightest
        totals[lightest] += costs[unit]
    return shards


def split_by_unit(
    items: list[pytest.Item], shard: str, durations: dict[str, float]
) -> tuple[list[pytest.Item], list[pytest.Item]]:
    index, _, count = shard.partition("/")
    tests_per_unit: dict[str, int] = defaultdict(int)
    for item in items:
        tests_per_unit[unit_of(item)] += 1
    costs = {
        unit: durations.get(unit, n * UNRECORDED_S_PER_TEST) for unit, n in tests_per_unit.items()
    }
    shards = assign(costs, int(count))
    keep = [item for item in items if shards[unit_of(item)] == int(index)]
    drop = [item for item in items if shards[unit_of(item)] != int(index)]
    return keep, drop


class UnitShard:
    """Keeps this shard's units of what `-m` left (it runs after the deselection)."""

    def __init__(self, shard: str) -> None:
        self.shard = shard

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        keep, drop = split_by_unit(items, self.shard, recorded_durations())
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


class DurationRecorder:
    """Sums each unit's test time (setup, call and teardown) and writes it as JSON to `path`
    when the session ends: what `python -m tests.parts --record-durations` merges into
    `tests/durations.json`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.units: dict[str, str] = {}
        self.seconds: dict[str, float] = defaultdict(float)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.units = {item.nodeid: unit_of(item) for item in items}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[self.units.get(report.nodeid, report.nodeid.split("::", 1)[0])] += (
            report.duration
        )

    def pytest_sessionfinish(self) -> None:
        rounded = {unit: round(s, 1) for unit, s in sorted(self.seconds.items())}
        self.path.write_text(json.dumps(rounded, indent=1) + "\n", encoding="utf-8")


def merge_recorded(paths: list[Path]) -> None:
    """The parts' recordings into `tests/durations.json` (a module not run keeps its time)."""
    merged = recorded_durations()
    for path in paths:
        if path.is_file():
            merged.update(json.loads(path.read_text(encoding="utf-8")))
    DURATIONS.write_text(json.dumps(dict(sorted(merged.items())), indent=1) + "\n")
