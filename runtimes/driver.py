"""What the platform needs to know about one runtime, declared by the runtime's own folder.

Each `runtimes/<name>/driver.py` defines `DRIVER`, an instance of a `RuntimeDriver` subclass;
`runtimes.registry` finds them. A driver says which files its functions are written in, which
handler names its wrapper can load, how a worker is launched, what (if anything) must be built
before it can run, how its toolchain reports its version, how its container image runs, whether
a worker can be pre-started, and which editor mode the console uses. Everything here is pure —
paths and argv, nothing started or written — so the engine owns every side effect and a new
runtime (or a `provided` one running any `bootstrap`) is one more folder, not new special cases.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from runtimes.contract import DEFAULT_HANDLER, split_handler

RUNTIMES_DIR = Path(__file__).absolute().parent


@dataclass(frozen=True)
class Toolchain:
    """The interpreter or compiler that runs (or builds) a runtime's functions."""

    executable: str
    version: str = ""


@dataclass(frozen=True)
class PlannedFile:
    """One file a build needs in place: copied from `source`, or written with `content`."""

    dest: Path
    source: Path | None = None
    content: str | None = None


@dataclass(frozen=True)
class BuildRequest:
    """What the platform hands a build: the function's code and where things go."""

    code_dir: Path | None
    """The function's code, as written for its deployment (read-only to the build); None
    asks for what the runtime can build without any (the Go load-error server)."""
    out_dir: Path
    """Where the artifact must be once the build succeeded (the platform moves it in place)."""
    work_dir: Path
    """Scratch space, removed afterwards."""
    cache_dir: Path
    """The toolchain's own cache (e.g. GOCACHE), shared by every build of this runtime."""
    handler: str
    toolchain: Toolchain
    code: str | None = None
    """The code file's text when the caller has it (the build's mode depends on it); None:
    the driver reads it from `code_dir`."""
    module_cache: Path | None = None
    """Where downloaded modules are kept between builds (GOMODCACHE); None: beside
    `cache_dir`."""


@dataclass(frozen=True)
class BuildPlan:
    """Create `files`, then run `argv` in `cwd` with `env` (overlaid on a base environment)."""

    cwd: Path
    files: tuple[PlannedFile, ...]
    argv: tuple[str, ...]
    env: Mapping[str, str]
    outputs: tuple[Path, ...] = ()
    """What the command writes that the platform keeps (a compile's output beside its sources)."""


@dataclass(frozen=True)
class CompileRequest:
    """A package whose handler is written in a language its runtime compiles at deploy time
    (TypeScript, for node): the compiler writes beside the sources, in the unpacked package."""

    code_dir: Path
    """The unpacked package, its dependencies linked in (the compile's cwd)."""
    source: str
    """The handler's source file, relative (`src/index.ts`), as `compile_source` chose it."""
    compiler: Toolchain
    runtime_version: str
    package_type: str = ""
    """The package.json's `type` (`module`, `commonjs`, or empty)."""


@dataclass(frozen=True)
class Prewarm:
    """A worker that can start before it knows its function: the interpreter and the wrapper's
    imports done, it reads its configuration (environment, directory) on stdin."""

    script: Path
    startup_env_prefixes: tuple[str, ...] = ()
    """Variables the interpreter reads only when it starts: a function setting one of these
    must get a freshly started worker."""
    startup_env_names: frozenset[str] = field(default_factory=frozenset)

    def argv(self, worker_argv: list[str]) -> list[str]:
        """The worker's own argv, with the prewarm script run by its interpreter first."""
        interpreter, *rest = worker_argv
        return [interpreter, str(self.script), *rest]

    def can_configure(self, user_env: Mapping[str, str]) -> bool:
        return not any(
            name.startswith(self.startup_env_prefixes) or name in self.startup_env_names
            for name in user_env
        )


class RuntimeDriver:
    """Defaults shared by the drivers; each runtime overrides what differs."""

    name: str = ""
    editor_mode: str = "text"
    """The console editor's syntax mode (`python`, `javascript`, `go`)."""
    line_comment: str = "#"
    """What starts a comment to the end of the line in the runtime's language."""
    default_handler: str = DEFAULT_HANDLER
    image_command: tuple[str, ...] = ()
    """How the runtime's container image starts the wrapper (the catalog's run command)."""
    toolchain_candidates: tuple[str, ...] = ()
    """Commands (or absolute paths) to try, in order, for the runtime's toolchain."""
    prewarm: Prewarm | None = None
    builds: bool = False
    """Whether `build` has work to do (then a worker runs what it produced)."""
    conventions: tuple[str, ...] = ("auto", "original")
    """How a handler may be called (`LAMBDA_CONVENTION`); `auto` detects it."""
    toolchain_env: tuple[tuple[str, str], ...] = ()
    """Set whenever the toolchain itself runs (its version probe, builds)."""
    toolchain_version: str | None = None
    """The toolchain release line to run on when it is not the catalog's version (`provided`
    names the Runtime API's version; its server runs on python 3.12)."""
    execution_env_format: str = ""
    """`AWS_EXECUTION_ENV` as Lambda spells it, `{version}` the catalog's (empty: not set,
    as for Lambda's OS-only runtimes)."""
    image_runtime_dir: str = ""
    """`LAMBDA_RUNTIME_DIR` inside the runtime's container image."""

    def execution_env(self, version: str) -> str:
        return self.execution_env_format.format(version=version)

    def lambda_program(self, code: str) -> bool:
        """Whether `code` is a program that talks to the Lambda Runtime API itself (a Go
        `lambda.Start` main) instead of a handler the wrapper calls."""
        del code
        return False

    def runtime_api_bootstrap(self, artifact_dir: Path | None, code: str) -> Path | None:
        """The executable to run behind the Runtime API for this function, when its worker
        is `provided`'s server (`runtimes/provided`, run with `LAMBDA_BOOTSTRAP` = this path)
        rather than this runtime's own `launch` argv; None for a wrapper-served handler."""
        del artifact_dir, code
        return None

    @property
    def folders(self) -> tuple[Path, ...]:
        """The folders of `runtimes/` a worker reads (a sandbox binds them read-only)."""
        return (self.folder,)

    @property
    def folder(self) -> Path:
        return RUNTIMES_DIR / self.name

    @property
    def default_code_path(self) -> Path:
        raise NotImplementedError

    def code_filename(self, handler: str, code: str) -> str:
        """The file the wrapper loads the handler's code from."""
        raise NotImplementedError

    def is_function_name(self, function: str) -> bool:
        """Whether the wrapper can load `function` (the part after the last dot)."""
        raise NotImplementedError

    def is_module_name(self, file: str) -> bool:
        """Whether `file` (before the last dot) can name the function's own code file: not a
        module the language resolves before it (Python's `os`)."""
        del file
        return True

    def launch(self, toolchain: Toolchain, artifact_dir: Path | None) -> list[str]:
        """argv of a worker (its configuration comes from `runtimes.contract.worker_env`);
        `artifact_dir` is what `build` produced, for runtimes that build."""
        raise NotImplementedError

    def build(self, request: BuildRequest) -> BuildPlan | None:
        """What must run before a worker can start; None when nothing has to be built."""
        del request
        return None

    def compile_source(self, handler: str, files: frozenset[str]) -> str | None:
        """The package file (`files`: its paths) that must be compiled for `handler` to load;
        None when the runtime loads the package as it is."""
        del handler, files
        return None

    def compile(self, request: CompileRequest) -> BuildPlan:
        """How `request.source` is compiled into the file the wrapper loads."""
        raise NotImplementedError

    def build_inputs(self) -> tuple[Path, ...]:
        """Files of the runtime whose content, with the code and handler, keys a build."""
        return ()

    def version_argv(self, executable: str) -> list[str]:
        return [executable, "--version"]

    def parse_version(self, output: str) -> str:
        return output.strip()

    def handler_parts(self, handler: str) -> tuple[str, str]:
        return split_handler(handler)
