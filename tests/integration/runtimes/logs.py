"""Reading what a worker wrote to its function's log (the wrapper tests' own helper)."""

from __future__ import annotations

import json
from typing import Any

from tests.fixtures.wrapper_harness import Worker


def error_record(worker: Worker, request_id: str) -> dict[str, Any]:
    """The JSON error line (Lambda's JSON error log shape) the worker wrote for `request_id`."""
    text = worker.wait_output(request_id, "stderr")
    for line in text.splitlines():
        if line.startswith("{") and request_id in line:
            record: dict[str, Any] = json.loads(line)
            if record.get("requestId") == request_id:
                return record
    raise AssertionError(f"no JSON error line for {request_id} in stderr:\n{text}")
