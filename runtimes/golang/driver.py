"""The golang runtime: the user's `handler.go` compiled together with a net/http wrapper into
one static binary (Go has no dynamic loading), so it is the one runtime with a build step."""

from __future__ import annotations

import re
from pathlib import Path

from runtimes.driver import BuildPlan, BuildRequest, PlannedFile, RuntimeDriver, Toolchain

HERE = Path(__file__).absolute().parent
WRAPPER = HERE / "wrapper" / "main.go"
BINARY_NAME = "function"
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
KEYWORDS = frozenset(
    "break case chan const continue default defer else fallthrough for func go goto if import "
    "interface map package range return select struct switch type var".split()
)
GO_MOD = "module lambdaclone/function\n\ngo 1.22\n"


class GolangDriver(RuntimeDriver):
    name = "golang"
    editor_mode = "go"
    line_comment = "//"
    image_command = ("/opt/lambdaclone/entrypoint.sh",)
    toolchain_candidates = ("go", "/usr/local/go/bin/go", "/usr/lib/go/bin/go")
    toolchain_env = (("GOTOOLCHAIN", "local"),)
    builds = True

    @property
    def default_code_path(self) -> Path:
        return HERE / "default" / "handler.go"

    def code_filename(self, handler: str, code: str) -> str:
        self.handler_parts(handler)
        return "handler.go"

    def is_function_name(self, function: str) -> bool:
        """An ASCII identifier that is not a keyword, as the build (and entrypoint.sh) take it."""
        return IDENTIFIER.fullmatch(function) is not None and function not in KEYWORDS

    def launch(self, toolchain: Toolchain, artifact_dir: Path | None) -> list[str]:
        if artifact_dir is None:
            raise ValueError("golang workers run the binary their build produced")
        return [str(binary(artifact_dir))]

    def build(self, request: BuildRequest) -> BuildPlan:
        """Compile `handler.go` with the wrapper; without code, the wrapper alone: the
        load-error server, run with LAMBDA_LOAD_ERROR=<compiler output>."""
        _, function = self.handler_parts(request.handler)
        if not self.is_function_name(function):
            raise ValueError(f"Go handler function {function!r} is not an identifier")
        src = request.work_dir / "src"
        files = [
            PlannedFile(src / "go.mod", content=GO_MOD),
            PlannedFile(src / "lambdaclone_main.go", source=WRAPPER),
        ]
        if request.code_dir is not None:
            files.append(PlannedFile(src / "handler.go", source=request.code_dir / "handler.go"))
            files.append(PlannedFile(src / "lambdaclone_entry.go", content=entry_source(function)))
        env = {
            **dict(self.toolchain_env),
            "CGO_ENABLED": "0",
            "GOCACHE": str(request.cache_dir),
            "GOPATH": str(request.work_dir / "gopath"),
            "GOPROXY": "off",
            "GOWORK": "off",
            "GO111MODULE": "on",
        }
        out = binary(request.out_dir)
        argv = (request.toolchain.executable, "build", "-trimpath", "-ldflags=-s -w", "-o")
        return BuildPlan(src, tuple(files), (*argv, str(out), "."), env)

    def build_inputs(self) -> tuple[Path, ...]:
        return (WRAPPER,)

    def version_argv(self, executable: str) -> list[str]:
        return [executable, "env", "GOVERSION"]

    def parse_version(self, output: str) -> str:
        return output.strip().removeprefix("go")


def binary(artifact_dir: Path) -> Path:
    """Where the compiled worker is inside its build's output directory."""
    return artifact_dir / BINARY_NAME


def entry_source(function: str) -> str:
    """The generated file that hands the user's function to the wrapper."""
    return f"package main\n\nfunc init() {{ lcUserHandler = {function} }}\n"


DRIVER = GolangDriver()
