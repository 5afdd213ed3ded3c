"""What a Lambda-convention handler sees of Lambda's environment and context, in the python
and node wrappers (real processes started with `runtimes.contract.worker_env`)."""

from __future__ import annotations

import pytest

from tests.fixtures.wrapper_harness import Serve

PYTHON = """
    import os, time

    PREFIXES = ("AWS_", "LAMBDA_TASK", "_HANDLER", "TZ")

    def handler(event, context):
        first = context.get_remaining_time_in_millis()
        time.sleep(0.2)
        return {
            "env": {k: v for k, v in os.environ.items() if k.startswith(PREFIXES)},
            "id": context.aws_request_id,
            "arn": context.invoked_function_arn,
            "group": context.log_group_name,
            "stream": context.log_stream_name,
            "memory": context.memory_limit_in_mb,
            "version": context.function_version,
            "identity": context.identity,
            "client_context": context.client_context,
            "remaining": [first, context.get_remaining_time_in_millis()],
            "hour_offset": time.localtime().tm_gmtoff,
        }
"""

NODE = """
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    export const handler = async (event, context) => {
      const first = context.getRemainingTimeInMillis();
      await sleep(200);
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) =>
        k.startsWith('AWS_') || k.startsWith('LAMBDA_TASK') || k === '_HANDLER' || k === 'TZ'));
      return {
        env, id: context.awsRequestId, arn: context.invokedFunctionArn,
        group: context.logGroupName, stream: context.logStreamName,
        memory: context.memoryLimitInMB, version: context.functionVersion,
        identity: context.identity ?? null, client_context: context.clientContext ?? null,
        remaining: [first, context.getRemainingTimeInMillis()],
        hour_offset: -new Date(2024, 6, 1).getTimezoneOffset() * 60,
      };
    };
"""

CASES = {"python": ("app.py", PYTHON), "node": ("app.mjs", NODE)}


@pytest.mark.parametrize("runtime", sorted(CASES))
def test_lambda_environment_and_context(serve: Serve, runtime: str) -> None:
    filename, code = CASES[runtime]
    worker = serve(runtime, {filename: code}, handler="app.handler")
    body = worker.get("/", {"x-request-id": "ctx-1"}).json()
    env = body["env"]
    assert (env["AWS_REGION"], env["AWS_DEFAULT_REGION"]) == ("us-east-1", "us-east-1")
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "test-fn"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == body["version"] == "7"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == body["group"] == "/aws/lambda/test-fn"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == body["stream"] == "[7]k3y"
    assert env["_HANDLER"] == "app.handler" and env["TZ"] == ":UTC"
    assert env["LAMBDA_TASK_ROOT"].endswith("code0")
    assert body["id"] == "ctx-1" and body["memory"] == "256"
    assert body["arn"] == "arn:aws:lambda:us-east-1:000000000000:function:test-fn"
    assert body["identity"] is None and body["client_context"] is None
    first, later = body["remaining"]
    assert 4000 < first <= 5000  # the harness's timeout is 5000 ms
    assert first - later >= 190  # it counts down with the clock
    assert body["hour_offset"] == 0  # TZ=:UTC
