"""The `provided` runtime: the function brings its own runtime, an executable `bootstrap`
speaking the Lambda Runtime API (as on Lambda's `provided.al2023`); the worker is the Runtime
API server (`server.py`), which runs on the pinned python and reuses the python wrapper."""

from __future__ import annotations

from pathlib import Path

from runtimes.driver import RUNTIMES_DIR, RuntimeDriver, Toolchain

HERE = Path(__file__).absolute().parent
SERVER = HERE / "server.py"
BOOTSTRAP = "bootstrap"


class ProvidedDriver(RuntimeDriver):
    name = "provided"
    editor_mode = "sh"
    conventions = ("auto", "lambda")
    """A bootstrap always talks Lambda's Runtime API: `auto` is `lambda`."""
    image_command = ("python", "/opt/lambdaclone/runtimes/provided/server.py")
    toolchain_candidates = ("python3",)
    toolchain_version = "3.12"
    """The server runs on the python runtime's pinned CPython; the catalog's version of
    `provided` is the Runtime API's (`2018-06-01`), what a bootstrap is written against."""
    image_runtime_dir = "/opt/lambdaclone/runtimes/provided"

    @property
    def default_code_path(self) -> Path:
        return HERE / "default" / BOOTSTRAP

    @property
    def folders(self) -> tuple[Path, ...]:
        """The server imports the python wrapper (its HTTP side, event and result codec)."""
        return (self.folder, RUNTIMES_DIR / "python")

    def code_filename(self, handler: str, code: str) -> str:
        """Always `bootstrap`; the handler is only passed on (`_HANDLER`), as Lambda does."""
        self.handler_parts(handler)
        return BOOTSTRAP

    def is_function_name(self, function: str) -> bool:
        """Anything without a path separator: the bootstrap reads `_HANDLER` its own way."""
        return bool(function) and "/" not in function

    def launch(self, toolchain: Toolchain, artifact_dir: Path | None) -> list[str]:
        return [toolchain.executable, "-I", str(SERVER)]

    def version_argv(self, executable: str) -> list[str]:
        return [executable, "-c", "import platform; print(platform.python_version())"]


DRIVER = ProvidedDriver()
