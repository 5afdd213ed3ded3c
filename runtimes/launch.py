"""How to start a runtime wrapper as a local process: pure functions, no I/O.

The local target calls these to name the code file, build the Go binary and spawn the worker;
the container images do the same things with their own entrypoints (see runtimes/README.md).
Keeping this pure lets the local target own every side effect (files, caching, processes).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

RUNTIMES_DIR = Path(__file__).absolute().parent
PYTHON_WRAPPER = RUNTIMES_DIR / "python" / "wrapper.py"
NODE_WRAPPER = RUNTIMES_DIR / "node" / "wrapper.mjs"
GO_WRAPPER = RUNTIMES_DIR / "golang" / "wrapper" / "main.go"
GO_BINARY_NAME = "function"
CONVENTIONS = ("auto", "original", "lambda")

# An import or export statement at the start of a line (not `import(...)`, valid in CommonJS).
_ESM_SYNTAX = re.compile(
    r"^\s*(import\s*[{*'\"]|import\s+[\w$]+\s*(,|from\b)"
    r"|export\s*[{*]|export\s+(default|const|let|var|function|async|class)\b)",
    re.MULTILINE,
)
_GO_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _split_handler(handler: str) -> tuple[str, str]:
    file, _, function = handler.rpartition(".")
    if not file or not function:
        raise ValueError(f"handler {handler!r} must look like file.function")
    return file, function


def _check_runtime(runtime: str) -> None:
    if runtime not in ("golang", "node", "python"):
        raise ValueError(f"unknown runtime {runtime!r}")


def default_handler(runtime: str) -> str:
    """`handler.handler` everywhere: the file is handler.<ext>, the function `handler`."""
    _check_runtime(runtime)
    return "handler.handler"


def code_filename(runtime: str, handler: str, code: str) -> str:
    """The file name the wrapper loads the user's code from.

    node: `.mjs` when the code uses ES module syntax (import/export statements), else `.cjs`,
    so node never has to guess the module type. golang: always `handler.go`.
    """
    _check_runtime(runtime)
    if runtime == "golang":
        return "handler.go"
    file, _ = _split_handler(handler)
    if runtime == "python":
        return f"{file}.py"
    return f"{file}.mjs" if _ESM_SYNTAX.search(code) else f"{file}.cjs"


def go_binary(build_dir: Path) -> Path:
    """Where the compiled Go worker lives inside its build directory."""
    return build_dir / GO_BINARY_NAME


def worker_command(
    runtime: str, *, code_dir: Path, build_dir: Path | None, python: str, node: str
) -> list[str]:
    """argv that starts the wrapper (its configuration comes from `worker_env`)."""
    _check_runtime(runtime)
    if runtime == "python":
        return [python, str(PYTHON_WRAPPER)]
    if runtime == "node":
        return [node, str(NODE_WRAPPER)]
    if build_dir is None:
        raise ValueError("golang needs the build_dir holding the compiled binary")
    return [str(go_binary(build_dir))]


def worker_env(
    *,
    port: int,
    code_dir: Path,
    handler: str,
    function_name: str,
    function_key: str,
    version: int | str,
    memory_mb: int,
    timeout_ms: int,
    host: str = "127.0.0.1",
    path_prefix: str = "",
    convention: str = "auto",
    user_env: Mapping[str, str] | None = None,
    pycache_dir: Path | None = None,
) -> dict[str, str]:
    """The wrapper's environment variables; overlay them on a base env (PATH, HOME, ...).

    `user_env` (the function's own variables) comes first so it cannot override ours.
    `pycache_dir` turns bytecode caching back on (into that directory) for a Python worker
    started from an environment with PYTHONDONTWRITEBYTECODE set: without it every cold start
    recompiles Flask from source (~300 ms instead of ~120 ms).
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}")
    env = dict(user_env or {})
    env.update(
        PORT=str(port),
        HOST=host,
        LAMBDA_CODE_DIR=str(code_dir),
        LAMBDA_HANDLER=handler,
        LAMBDA_FUNCTION_NAME=function_name,
        LAMBDA_FUNCTION_KEY=function_key,
        LAMBDA_FUNCTION_VERSION=str(version),
        LAMBDA_MEMORY_MB=str(memory_mb),
        LAMBDA_TIMEOUT_MS=str(timeout_ms),
        LAMBDA_PATH_PREFIX=path_prefix,
        LAMBDA_CONVENTION=convention,
    )
    if pycache_dir is not None:
        env.update(PYTHONPYCACHEPREFIX=str(pycache_dir), PYTHONDONTWRITEBYTECODE="")
    return env


@dataclass(frozen=True)
class PlannedFile:
    """One file of the Go build directory: copied from `source`, or written with `content`."""

    dest: Path
    source: Path | None = None
    content: str | None = None


@dataclass(frozen=True)
class GoBuildPlan:
    """Everything needed to compile a Go worker: create `files`, run `argv` in `cwd` with `env`.

    `env` holds only the Go settings; overlay it on a base environment (PATH, HOME).
    """

    cwd: Path
    files: tuple[PlannedFile, ...]
    argv: tuple[str, ...]
    env: Mapping[str, str]
    binary: Path


def go_entry_source(function: str) -> str:
    """The generated file that hands the user's function to the wrapper."""
    return f"package main\n\nfunc init() {{ lcUserHandler = {function} }}\n"


def go_build_command(out_binary: Path, *, go: str = "go") -> list[str]:
    """`go build` for a static, reproducible binary (no cgo, no local paths)."""
    return [go, "build", "-trimpath", "-ldflags=-s -w", "-o", str(out_binary), "."]


def go_build_plan(
    code_dir: Path | None,
    out_binary: Path,
    *,
    src_dir: Path,
    gocache: Path,
    handler: str = "handler.handler",
    go: str = "go",
) -> GoBuildPlan:
    """Plan the compile of `code_dir/handler.go` with the wrapper, in `src_dir`.

    With `code_dir=None` the plan builds the wrapper alone: the "load error server", to run
    with LAMBDA_LOAD_ERROR=<compiler output> when the user's code does not compile.
    The cache key for the binary should cover the code, `handler`, and the wrapper's source.
    """
    _, function = _split_handler(handler)
    if not _GO_IDENTIFIER.fullmatch(function):
        raise ValueError(f"Go handler function {function!r} is not an identifier")
    files = [
        PlannedFile(src_dir / "go.mod", content="module lambdaclone/function\n\ngo 1.22\n"),
        PlannedFile(src_dir / "lambdaclone_main.go", source=GO_WRAPPER),
    ]
    if code_dir is not None:
        files.append(PlannedFile(src_dir / "handler.go", source=code_dir / "handler.go"))
        files.append(
            PlannedFile(src_dir / "lambdaclone_entry.go", content=go_entry_source(function))
        )
    env = {
        "CGO_ENABLED": "0",
        "GOCACHE": str(gocache),
        "GOPATH": str(src_dir / ".gopath"),
        "GOTOOLCHAIN": "local",
        "GOPROXY": "off",
        "GOWORK": "off",
        "GO111MODULE": "on",
    }
    argv = tuple(go_build_command(out_binary, go=go))
    return GoBuildPlan(src_dir, tuple(files), argv, env, out_binary)
