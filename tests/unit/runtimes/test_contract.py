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
