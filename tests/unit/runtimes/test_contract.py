"""runtimes.contract: what every worker is told through its environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtimes.contract import FUNCTION_VERSION, worker_env


def test_worker_env(tmp_path: Path) -> None:
    env = worker_env(
        port=8123,
        code_dir=tmp_path,
        handler="index.handler",
        function_name="fn",
        function_key="key1",
        memory_mb=512,
        timeout_ms=9000,
        path_prefix="/endpoint/key1",
        user_env={"PORT": "1", "MY_VAR": "x"},
    )
    assert env["PORT"] == "8123" and env["MY_VAR"] == "x"
    assert env["HOST"] == "127.0.0.1" and env["LAMBDA_CODE_DIR"] == str(tmp_path)
    assert env["LAMBDA_HANDLER"] == "index.handler"
    assert env["LAMBDA_FUNCTION_VERSION"] == FUNCTION_VERSION == "$LATEST"
    assert (env["LAMBDA_MEMORY_MB"], env["LAMBDA_TIMEOUT_MS"]) == ("512", "9000")
    assert env["LAMBDA_PATH_PREFIX"] == "/endpoint/key1" and env["LAMBDA_CONVENTION"] == "auto"
    assert "PYTHONPYCACHEPREFIX" not in env


def test_worker_env_pycache_and_convention(tmp_path: Path) -> None:
    def env(**extra: object) -> dict[str, str]:
        return worker_env(
            port=1,
            code_dir=tmp_path,
            handler="h.h",
            function_name="f",
            function_key="k",
            memory_mb=128,
            timeout_ms=3000,
            **extra,  # type: ignore[arg-type]
        )

    cached = env(pycache_dir=tmp_path / "pyc")
    assert cached["PYTHONPYCACHEPREFIX"] == str(tmp_path / "pyc")
    assert cached["PYTHONDONTWRITEBYTECODE"] == ""
    with pytest.raises(ValueError, match="convention"):
        env(convention="express")


def lambda_worker_env(tmp_path: Path, **extra: object) -> dict[str, str]:
    return worker_env(
        port=1,
        code_dir=tmp_path,
        handler="app.handler",
        function_name="orders",
        function_key="k3y",
        memory_mb=512,
        timeout_ms=3000,
        **extra,  # type: ignore[arg-type]
    )


def test_lambdas_own_variables(tmp_path: Path) -> None:
    env = lambda_worker_env(
        tmp_path,
        region="eu-west-1",
        execution_env="AWS_Lambda_python3.12",
        runtime_dir=Path("/opt/rt"),
        bootstrap=tmp_path / "function",
    )
    assert (env["AWS_REGION"], env["AWS_DEFAULT_REGION"]) == ("eu-west-1", "eu-west-1")
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "orders"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/orders"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == "[$LATEST]k3y"
    assert env["LAMBDA_TASK_ROOT"] == str(tmp_path) and env["LAMBDA_RUNTIME_DIR"] == "/opt/rt"
    assert env["_HANDLER"] == "app.handler" and env["TZ"] == ":UTC"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert env["LAMBDA_BOOTSTRAP"] == str(tmp_path / "function")
    bare = lambda_worker_env(tmp_path)
    assert bare["AWS_REGION"] == "us-east-1"
    assert "AWS_EXECUTION_ENV" not in bare and "LAMBDA_RUNTIME_DIR" not in bare


def test_region_and_tz_are_the_functions_to_override_the_rest_is_not(tmp_path: Path) -> None:
    user = {
        "AWS_REGION": "ap-northeast-2",
        "AWS_DEFAULT_REGION": "ap-northeast-2",
        "TZ": "Asia/Seoul",
        "AWS_LAMBDA_FUNCTION_NAME": "spoofed",
        "_HANDLER": "x.y",
    }
    env = lambda_worker_env(tmp_path, region="eu-west-1", user_env=user)
    assert (env["AWS_REGION"], env["AWS_DEFAULT_REGION"]) == ("ap-northeast-2", "ap-northeast-2")
    assert env["TZ"] == "Asia/Seoul"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "orders" and env["_HANDLER"] == "app.handler"
