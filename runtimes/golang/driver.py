"""The golang runtime: the user's `handler.go` compiled together with a net/http wrapper into
one static binary (Go has no dynamic loading), so it is the one runtime with a build step.

A `handler.go` that is an AWS Lambda program (`package main` importing aws-lambda-go's
`lambda` and calling `lambda.Start`) is built as it is, with module downloads, and runs behind
the Lambda Runtime API (`runtimes/provided`), as on Lambda's `provided.al2023`."""

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
PREDECLARED = frozenset(
    "any append bool byte cap clear close comparable complex complex64 complex128 copy delete "
    "error false float32 float64 imag init int int8 int16 int32 int64 iota len main make max "
    "min new nil panic print println real recover rune string true uint uint8 uint16 uint32 "
    "uint64 uintptr _".split()
)
GO_MOD = "module lambdaclone/function\n\ngo 1.22\n"
AWS_LAMBDA_GO = "github.com/aws/aws-lambda-go"
AWS_LAMBDA_GO_VERSION = "v1.54.0"
"""The newest aws-lambda-go whose go.mod accepts go 1.22 (v1.55.0 requires go 1.26): what a
Lambda program without its own go.mod is built against."""
LAMBDA_GO_MOD = f"{GO_MOD}\nrequire {AWS_LAMBDA_GO} {AWS_LAMBDA_GO_VERSION}\n"
LAMBDA_IMPORT = re.compile(rf'^\s*(?:import\s+)?(?:\w+\s+)?"{re.escape(AWS_LAMBDA_GO)}/lambda"', re.M)
PACKAGE_MAIN = re.compile(r"^package\s+main\b", re.M)


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
        """An ASCII identifier that is not a keyword, a predeclared name, `main`/`init`, or the
        wrapper's own (`lc…`): the build assigns it to the wrapper's handler variable."""
        return (
            IDENTIFIER.fullmatch(function) is not None
            and function not in KEYWORDS | PREDECLARED
            and re.match(r"lc[A-Z]", function) is None
        )

    def launch(self, toolchain: Toolchain, artifact_dir: Path | None) -> list[str]:
        if artifact_dir is None:
            raise ValueError("golang workers run the binary their build produced")
        return [str(binary(artifact_dir))]

    def lambda_program(self, code: str) -> bool:
        """`package main` importing aws-lambda-go's `lambda` (whose `main` calls Start)."""
        return PACKAGE_MAIN.search(code) is not None and LAMBDA_IMPORT.search(code) is not None

    def runtime_api_bootstrap(self, artifact_dir: Path | None, code: str) -> Path | None:
        if artifact_dir is None or not self.lambda_program(code):
            return None
        return binary(artifact_dir)

    def build(self, request: BuildRequest) -> BuildPlan:
        """Compile `handler.go` with the wrapper; without code, the wrapper alone: the
        load-error server, run with LAMBDA_LOAD_ERROR=<compiler output>. A Lambda program
        is compiled alone, its modules downloaded (`lambda_build`)."""
        if request.code_dir is not None and self.lambda_program(_code(request)):
            return self.lambda_build(request)
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

    def lambda_build(self, request: BuildRequest) -> BuildPlan:
        """`go build -mod=mod` of the program alone: the go command resolves its imports
        (go.sum too) from the module proxy — `GOPROXY`, `GONOSUMDB`… come from the build's
        environment (the operator's), Go's defaults otherwise — into a module cache kept
        between builds. Nothing is downloaded when the worker starts."""
        assert request.code_dir is not None  # noqa: S101 (checked by build)
        src = request.work_dir / "src"
        files = (
            PlannedFile(src / "go.mod", content=LAMBDA_GO_MOD),
            PlannedFile(src / "handler.go", source=request.code_dir / "handler.go"),
        )
        module_cache = request.module_cache or request.cache_dir.with_name(
            f"{request.cache_dir.name}-modules"
        )
        env = {
            **dict(self.toolchain_env),
            "CGO_ENABLED": "0",
            "GOCACHE": str(request.cache_dir),
            "GOMODCACHE": str(module_cache),
            "GOPATH": str(request.work_dir / "gopath"),
            "GOWORK": "off",
            "GO111MODULE": "on",
        }
        out = binary(request.out_dir)
        argv = (request.toolchain.executable, "build", "-mod=mod", "-modcacherw", "-trimpath")
        return BuildPlan(src, files, (*argv, "-ldflags=-s -w", "-o", str(out), "."), env)

    def build_inputs(self) -> tuple[Path, ...]:
        return (WRAPPER,)

    def version_argv(self, executable: str) -> list[str]:
        return [executable, "env", "GOVERSION"]

    def parse_version(self, output: str) -> str:
        return output.strip().removeprefix("go")


def binary(artifact_dir: Path) -> Path:
    """Where the compiled worker is inside its build's output directory."""
    return artifact_dir / BINARY_NAME


def _code(request: BuildRequest) -> str:
    """The code's text: as given, or read from the code directory (older callers)."""
    if request.code is not None:
        return request.code
    assert request.code_dir is not None  # noqa: S101 (checked by the caller)
    path = request.code_dir / "handler.go"
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def entry_source(function: str) -> str:
    """The generated file that hands the user's function to the wrapper."""
    return f"package main\n\nfunc init() {{ lcUserHandler = {function} }}\n"


DRIVER = GolangDriver()
