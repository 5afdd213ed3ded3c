"""Session-scoped real services for the whole suite: a MongoDB-wire server (FerretDB, or
$MONGODB_URI), a Kubernetes control plane with kwok nodes, an S3 endpoint and a Pulumi
environment. Each starts on first use, is readiness-checked, shows its log on failure and
leaves nothing running or on disk afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pymongo
import pytest

from engine.embedded import run_ferretdb
from tests.fixtures import event_loop
from tests.fixtures.api import ADMIN_TOKEN
from tests.fixtures.kube import KubeCluster, start_kube_cluster
from tests.fixtures.pulumi import pulumi_environment
from tests.fixtures.s3 import s3_server
from tests.parts import RECORD_ENV, SHARD_ENV
from tests.sharding import DurationRecorder, UnitShard

# Every control plane a test starts has this admin token (and clients send it: AUTH).
os.environ["LAMBDACLONE_ADMIN_TOKEN"] = ADMIN_TOKEN


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    explicit = os.environ.get("MONGODB_URI")
    if explicit:
        yield explicit
        return
    with run_ferretdb(tmp_path_factory.mktemp("ferretdb")) as uri:
        yield uri


@pytest.fixture
def mongo_db_name(mongo_uri: str) -> Iterator[str]:
    """A fresh database per test, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    client: pymongo.MongoClient[dict[str, object]]
    with pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=3000) as client:
        client.drop_database(name)


@pytest.fixture(scope="session")
def kube_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeCluster]:
    with start_kube_cluster(tmp_path_factory.mktemp("kube")) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with s3_server(tmp_path_factory.mktemp("s3")) as url:
        yield url


@pytest.fixture(scope="session")
def pulumi_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return pulumi_environment(tmp_path_factory.mktemp("pulumi"))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A per-test LAMBDACLONE data directory."""
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture(autouse=True)
def current_event_loop() -> Iterator[None]:
    """Pulumi's mock runtime calls `asyncio.get_event_loop()`, which raises once an earlier
    test's `asyncio.run()` has left no current loop; give such tests a fresh one."""
    with event_loop.current_event_loop():
        yield


ALLOW_SKIPS_ENV = "LAMBDACLONE_ALLOW_SKIPS"
"""Set to 1 to let tests skip on a machine that lacks a part (no sandbox support, not root):
by default a skip is a failure, so a green `make test` means every test ran."""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    allowed = os.environ.get(ALLOW_SKIPS_ENV) == "1"
    if report.skipped and not hasattr(report, "wasxfail") and not allowed:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = (
            f"skipped, which counts as a failure ({ALLOW_SKIPS_ENV}=1 allows it): {reason}"
        )


_KWOK_FIXTURES = frozenset({"kube_cluster", "pulumi_env"})


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by these marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that uses a test cluster carries its mark even when its file does not say so
    (`real_node` for the real node's cluster, `cluster` for the kwok one), so `make test`'s
    parts (`tests/parts.py`) keep each cluster in one process."""
    for item in items:
        uses = set(getattr(item, "fixturenames", ()))
        if "real_cluster" in uses and not item.get_closest_marker("real_node"):
            item.add_marker(pytest.mark.real_node)
        if uses & _KWOK_FIXTURES and not item.get_closest_marker("cluster"):
            item.add_marker(pytest.mark.cluster)


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get(SHARD_ENV):
        config.pluginmanager.register(UnitShard(os.environ[SHARD_ENV]), "unit-shard")
    if os.environ.get(RECORD_ENV):
        config.pluginmanager.register(DurationRecorder(Path(os.environ[RECORD_ENV])), "durations")
