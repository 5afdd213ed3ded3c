"""The split of a part's modules into shards (`tests/sharding.py`): each module in exactly one
shard, whole, the shards' recorded times balanced, and the same split in every process."""

from __future__ import annotations

from tests.sharding import assign


def test_every_module_lands_in_one_shard_and_the_totals_balance() -> None:
    costs = {"a": 50.0, "b": 40.0, "c": 30.0, "d": 20.0, "e": 10.0, "f": 10.0}
    shards = assign(costs, 2)
    assert set(shards) == set(costs) and set(shards.values()) == {0, 1}
    totals = [sum(c for m, c in costs.items() if shards[m] == n) for n in (0, 1)]
    assert abs(totals[0] - totals[1]) <= 10.0
    assert assign(dict(reversed(list(costs.items()))), 2) == shards  # order-independent


def test_equal_costs_split_by_name() -> None:
    shards = assign({"m1": 1.0, "m2": 1.0, "m3": 1.0, "m4": 1.0}, 2)
    assert sorted(shards.values()) == [0, 0, 1, 1]
