"""`GET /lambda/operations/{id}/events`: an operation's progress as server-sent events.

The real app (lifespan, runner, FerretDB) on a real uvicorn server on a free port, read with
httpx streaming: an in-process ASGI transport would buffer the stream and hide whether events
arrive while the operation runs.
"""

from __future__ import annotations

import contextlib
import json
import queue
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from api import events
from api.app import create_app
from engine.embedded import run_ferretdb, store_uri
from engine.errors import TargetError
from engine.runner import OperationRunner
from engine.settings import Settings
from engine.spec import FunctionSpec
from engine.target import ProgressSink
from tests.fixtures.api import AUTH, NODE_CODE
from tests.fixtures.fake_target import FakeTarget
from tests.fixtures.threaded_server import listening, port_of, serving_on

STEP_TIMEOUT_S = 60.0  # a hang guard: a loaded machine restarts the store slowly
READ_TIMEOUT_S = 10.0
FAST = events.StreamLimits(poll_s=0.05, store_retry_s=0.1, keepalive_s=0.3, max_s=60.0)


@dataclass
class StepTarget(FakeTarget):
    """A target whose apply/destroy emit the progress lines the test hands it, one by one,
    and return when handed None."""

    steps: queue.Queue[str | None] = field(default_factory=queue.Queue)
    step_timeout_s: float = STEP_TIMEOUT_S

    def apply(self, spec: FunctionSpec, progress: ProgressSink) -> None:
        self._steps(progress)
        self.applied[spec.key] = spec

    def destroy(self, key: str, progress: ProgressSink) -> None:
        self._steps(progress)

    def _steps(self, progress: ProgressSink) -> None:
        self.entered.set()
        while (message := self.steps.get(timeout=self.step_timeout_s)) is not None:
            progress(message)
        if self.fail_with is not None:
            raise self.fail_with


@dataclass
class Event:
    event: str | None = None
    id: str | None = None
    data: str = ""
    comments: list[str] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.data)


class EventStream:
    """The events of one open `text/event-stream` response, parsed as a browser would."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.iter_lines()

    def next(self) -> Event | None:
        """The next event (or comment block); None once the server ended the stream."""
        event = Event()
        seen = False
        for line in self._lines:
            if not line:
                if seen:
                    return event
                continue
            seen = True
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if not name:
                event.comments.append(value)
            elif name == "data":
                event.data = f"{event.data}\n{value}" if event.data else value
            elif name == "event":
                event.event = value
            elif name == "id":
                event.id = value
        return event if seen else None

    def next_event(self) -> Event | None:
        """The next event, skipping comments."""
        while (event := self.next()) is not None:
            if event.event is not None:
                return event
        return None

    def rest(self) -> list[Event]:
        """Every remaining event until the stream ends (comments left out)."""
        return list(iter(self.next_event, None))


@dataclass
class Server:
    url: str
    app: FastAPI
    client: httpx.Client

    @contextlib.contextmanager
    def events(self, operation_id: str, last_event_id: int | None = None) -> Iterator[EventStream]:
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        path = f"/lambda/operations/{operation_id}/events"
        with self.client.stream("GET", path, headers=headers) as response:
            assert response.status_code == 200, response.read()
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-cache"
            yield EventStream(response)

    def create(self, name: str = "hello") -> dict[str, Any]:
        body = {"name": name, "file": NODE_CODE, "runtime": "node", "version": "20"}
        response = self.client.post("/lambda", json=body)
        assert response.status_code == 202, response.text
        op: dict[str, Any] = response.json()["operation"]
        return op

    def operation(self, operation_id: str) -> dict[str, Any]:
        response = self.client.get(f"/lambda/operations/{operation_id}")
        assert response.status_code == 200, response.text
        op: dict[str, Any] = response.json()
        return op

    def wait(self, operation_id: str, timeout_s: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while (op := self.operation(operation_id))["state"] not in {"succeeded", "failed"}:
            assert time.monotonic() < deadline, f"operation still {op['state']}"
            time.sleep(0.02)
        return op


@contextlib.contextmanager
def serve(settings: Settings, target: FakeTarget) -> Iterator[Server]:
    """The real app on uvicorn in a thread. A stream still open at the end is cut after 2 s
    (uvicorn otherwise waits for every response to finish before shutting down)."""
    app = create_app(settings, target=target)
    with listening() as sock:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port_of(sock),
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
        with serving_on(config, sock, "events-server"):
            url = f"http://{config.host}:{config.port}"
            timeout = httpx.Timeout(READ_TIMEOUT_S, connect=5)
            with httpx.Client(base_url=url, timeout=timeout, headers=AUTH) as client:
                yield Server(url, app, client)


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> events.StreamLimits:
    monkeypatch.setattr(events, "LIMITS", FAST)
    return FAST


@pytest.fixture
def server(settings: Settings, target: FakeTarget) -> Iterator[Server]:
    with serve(settings, target) as running:
        yield running


@pytest.fixture
def steps() -> StepTarget:
    return StepTarget()


@pytest.fixture
def stepped(settings: Settings, steps: StepTarget, fast: events.StreamLimits) -> Iterator[Server]:
    with serve(settings, steps) as running:
        yield running


def _progress(events_: list[Event]) -> list[tuple[int, str]]:
    return [(int(e.id or -1), e.json()["message"]) for e in events_ if e.event == "progress"]


def _next_progress(stream: EventStream) -> tuple[int, str]:
    event = stream.next_event()
    assert event is not None and event.event == "progress", event
    return int(event.id or -1), event.json()["message"]


# --- a finished operation -----------------------------------------------------------------------


def test_replays_the_recorded_progress_then_done(server: Server) -> None:
    op = server.wait(server.create()["id"])
    recorded = op["progress"]
    assert len(recorded) == 4  # "create started (attempt 1)" and the fake target's 3 lines

    with server.events(op["id"]) as stream:
        got = stream.rest()
        assert stream.next() is None  # the server closed the stream after `done`

    assert [e.event for e in got] == ["progress"] * 4 + ["done"]
    assert [e.id for e in got] == ["0", "1", "2", "3", None]
    assert [e.json() for e in got[:4]] == recorded  # {at, message}, as GET shows them
    assert _progress(got)[0] == (0, "create started (attempt 1)")
    done = got[-1].json()
    assert done == op  # the operation's final document, as GET answers it
    assert done["state"] == "succeeded" and done["error"] is None


def test_a_failed_operation_ends_with_its_error(server: Server, target: FakeTarget) -> None:
    target.fail_with = TargetError("the cluster is full")
    op = server.wait(server.create()["id"])
    with server.events(op["id"]) as stream:
        got = stream.rest()
    assert got[-1].event == "done"
    done = got[-1].json()
    assert done["state"] == "failed"
    assert done["error"]["code"] == "target_error"
    assert done["error"]["message"] == "the cluster is full"
    assert len(_progress(got)) == len(op["progress"])


def test_last_event_id_resumes_after_that_line(server: Server) -> None:
    op = server.wait(server.create()["id"])
    messages = [line["message"] for line in op["progress"]]
    with server.events(op["id"], last_event_id=1) as stream:
        got = stream.rest()
    assert _progress(got) == [(2, messages[2]), (3, messages[3])]
    assert got[-1].event == "done"
    for last in (3, 99):  # after the last line (or past it): only `done`
        with server.events(op["id"], last_event_id=last) as stream:
            assert [e.event for e in stream.rest()] == ["done"]


def test_unknown_operation_is_404_before_streaming(server: Server) -> None:
    response = server.client.get(
        "/lambda/operations/nosuchoperation/events", headers={"Accept": "text/event-stream"}
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == "operation_not_found"
    assert response.json()["error"]["detail"] == {"operation": "nosuchoperation"}


def test_a_malformed_last_event_id_is_422(server: Server) -> None:
    op = server.create()
    for bad in ("x", "-1", "1.5"):
        response = server.client.get(
            f"/lambda/operations/{op['id']}/events", headers={"Last-Event-ID": bad}
        )
        assert response.status_code == 422, bad
        assert response.json()["error"]["code"] == "invalid_request"


# --- a running operation ------------------------------------------------------------------------


def test_follows_new_lines_while_the_operation_runs(stepped: Server, steps: StepTarget) -> None:
    op = stepped.create()
    with stepped.events(op["id"]) as stream:
        assert _next_progress(stream) == (0, "create started (attempt 1)")
        for n, message in enumerate(["pulling the image", "starting the worker"], start=1):
            steps.steps.put(message)
            assert _next_progress(stream) == (n, message)
            # streamed while the operation runs, not replayed after it finished
            assert stepped.operation(op["id"])["state"] == "running"
        steps.steps.put(None)
        got = stream.rest()
    assert [e.event for e in got] == ["done"]
    done = got[0].json()
    assert done["state"] == "succeeded"
    assert [line["message"] for line in done["progress"]] == [
        "create started (attempt 1)",
        "pulling the image",
        "starting the worker",
    ]


def test_reconnecting_with_last_event_id_continues_a_running_operation(
    stepped: Server, steps: StepTarget
) -> None:
    op = stepped.create()
    steps.steps.put("one")
    with stepped.events(op["id"]) as stream:
        assert _next_progress(stream) == (0, "create started (attempt 1)")
        assert _next_progress(stream) == (1, "one")
    steps.steps.put("two")  # recorded while no client listens
    steps.steps.put("three")
    with stepped.events(op["id"], last_event_id=1) as stream:
        assert _next_progress(stream) == (2, "two")
        assert _next_progress(stream) == (3, "three")
        steps.steps.put(None)
        assert [e.event for e in stream.rest()] == ["done"]


def test_keep_alive_comments_while_nothing_happens(stepped: Server, steps: StepTarget) -> None:
    op = stepped.create()
    with stepped.events(op["id"]) as stream:
        assert _next_progress(stream)[0] == 0
        started = time.monotonic()
        quiet = stream.next()
        assert quiet is not None and quiet.event is None and quiet.comments == ["keep-alive"]
        assert time.monotonic() - started >= FAST.keepalive_s * 0.8
        steps.steps.put(None)
        assert [e.event for e in stream.rest()] == ["done"]


def test_a_stream_ends_after_its_maximum_duration(
    stepped: Server, steps: StepTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events, "LIMITS", events.StreamLimits(poll_s=0.05, max_s=0.5))
    op = stepped.create()
    started = time.monotonic()
    with stepped.events(op["id"]) as stream:
        got = stream.rest()  # ends by itself, without `done`
    assert 0.5 <= time.monotonic() - started < READ_TIMEOUT_S
    assert _progress(got) == [(0, "create started (attempt 1)")]
    steps.steps.put(None)
    with stepped.events(op["id"], last_event_id=0) as stream:  # what a client does next
        assert [e.event for e in stream.rest()] == ["done"]


def test_the_stream_stops_reading_the_store_when_the_client_goes(
    stepped: Server, steps: StepTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = stepped.app.state.platform.store.operations
    reads: list[float] = []
    read = repo.get

    async def counted(operation_id: str) -> Any:
        reads.append(time.monotonic())
        return await read(operation_id)

    monkeypatch.setattr(repo, "get", counted)
    op = stepped.create()
    with stepped.events(op["id"]) as stream:
        assert _next_progress(stream)[0] == 0
        time.sleep(0.3)
        assert len(reads) >= 3  # polling while the client listens
    time.sleep(0.3)  # the disconnect reaches the server
    after_close = len(reads)
    time.sleep(0.5)  # 10 polls, had it kept going
    assert len(reads) <= after_close + 1
    steps.steps.put(None)


# --- durability ---------------------------------------------------------------------------------


def test_the_stream_survives_a_store_outage(tmp_path: Path, fast: events.StreamLimits) -> None:
    data = tmp_path / "ferretdb"
    settings = Settings(
        mongodb_uri=store_uri(data),
        database="events",
        data_dir=tmp_path,
        store_timeout_ms=300,
        store_heartbeat_timeout_ms=300,  # a FerretDB still starting is given up on quickly
    )
    target = StepTarget()
    with contextlib.ExitStack() as store:
        store.enter_context(run_ferretdb(data))
        with serve(settings, target) as running:
            op = running.create()
            with running.events(op["id"]) as stream:
                assert _next_progress(stream) == (0, "create started (attempt 1)")
                store.close()  # the store goes away; the stream stays, with keep-alives
                for _ in range(2):
                    quiet = stream.next()
                    assert quiet is not None and quiet.comments == ["keep-alive"], quiet
                store.enter_context(run_ferretdb(data))
                reconnected(running.client)  # the target's next line is written, not lost
                target.steps.put("after the outage")
                assert _next_progress(stream) == (1, "after the outage")
                target.steps.put(None)
                got = stream.rest()
    assert [e.event for e in got] == ["done"]
    assert got[0].json()["state"] == "succeeded"


def reconnected(client: httpx.Client) -> None:
    """Once the app reaches the store again (its driver finds a restarted server by itself)."""
    deadline = time.monotonic() + 30
    while client.get("/lambda/runtimes").status_code == 503:
        assert time.monotonic() < deadline, "the app never reached the store again"
        time.sleep(0.1)


def test_a_client_continues_after_a_control_plane_restart(
    settings: Settings, fast: events.StreamLimits, monkeypatch: pytest.MonkeyPatch
) -> None:
    close = OperationRunner.close

    async def no_grace(self: OperationRunner, grace_s: float = 0.0) -> None:
        await close(self, 0.0)

    # the first process stops mid-operation: its runner cancels the operation at once, and
    # the target's thread gives up soon after (the operation stays `running` in the store)
    monkeypatch.setattr(OperationRunner, "close", no_grace)
    first = StepTarget(step_timeout_s=3.0)
    with serve(settings, first) as running:
        op = running.create()
        first.steps.put("before the restart")
        with running.events(op["id"]) as stream:
            assert _next_progress(stream)[0] == 0
            assert _next_progress(stream) == (1, "before the restart")
    second = StepTarget()
    second.steps.put(None)
    with serve(settings, second) as running, running.events(op["id"], last_event_id=1) as stream:
        got = stream.rest()
    messages = [m for _, m in _progress(got)]
    assert messages == [
        "resumed after a control-plane restart (was running)",
        "create started (attempt 2)",
    ]
    assert [i for i, _ in _progress(got)] == [2, 3]
    assert got[-1].event == "done" and got[-1].json()["state"] == "succeeded"


def test_openapi_documents_the_event_stream(server: Server) -> None:
    spec = server.client.get("/openapi.json").json()
    route = spec["paths"]["/lambda/operations/{operation_id}/events"]["get"]
    assert route["summary"] and "Last-Event-ID" in route["description"]
    ok = route["responses"]["200"]["content"]
    assert list(ok) == ["text/event-stream"]
    assert "event: progress" in ok["text/event-stream"]["example"]
    assert "event: done" in ok["text/event-stream"]["example"]
    for status in ("404", "422", "503"):
        content = route["responses"][status]["content"]
        assert content == {
            "application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}
        }
    assert "ErrorResponse" in spec["components"]["schemas"]
    header = next(p for p in route["parameters"] if p["in"] == "header")
    assert header["name"] == "Last-Event-ID"
