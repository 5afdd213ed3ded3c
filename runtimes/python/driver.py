"""The python runtime: a stdlib-only wrapper serving `<file>.py`, Flask or Lambda style."""

from __future__ import annotations

import keyword
import sys
from pathlib import Path

from runtimes.driver import Prewarm, RuntimeDriver, Toolchain

HERE = Path(__file__).absolute().parent
WRAPPER = HERE / "wrapper.py"


class IsolatedPrewarm(Prewarm):
    """The prewarm script goes after the interpreter's own options (`-I`), before the wrapper."""

    def argv(self, worker_argv: list[str]) -> list[str]:
        *interpreter, wrapper = worker_argv
        return [*interpreter, str(self.script), wrapper]


class PythonDriver(RuntimeDriver):
    name = "python"
    editor_mode = "python"
    conventions = ("auto", "original", "lambda", "kubeless")
    image_command = ("python", "/opt/lambdaclone/runtimes/python/wrapper.py")
    toolchain_candidates = ("python3",)
    """The tool cache's pinned CPython (engine/local/toolchains.py), never the control plane's."""
    execution_env_format = "AWS_Lambda_python{version}"
    image_runtime_dir = "/opt/lambdaclone/runtimes/python"
    prewarm = IsolatedPrewarm(
        script=HERE / "prewarm.py",
        # Read once at interpreter start: PYTHON*, the loader's LD_*, the locale (stdio
        # encoding) and the user site directory (HOME). TZ is fine: the spare re-reads it.
        startup_env_prefixes=("PYTHON", "LD_", "LC_"),
        startup_env_names=frozenset({"LANG", "HOME"}),
    )

    @property
    def default_code_path(self) -> Path:
        return HERE / "default" / "handler.py"

    def code_filename(self, handler: str, code: str) -> str:
        file, _ = self.handler_parts(handler)
        return f"{file}.py"

    def is_function_name(self, function: str) -> bool:
        """An ASCII identifier (as the module name) that is not a keyword."""
        return function.isascii() and function.isidentifier() and not keyword.iskeyword(function)

    def is_module_name(self, file: str) -> bool:
        """Not a standard-library module nor the wrapper's package: the wrapper imports the
        handler's module by name, as Lambda's runtime does, and `import os` finds the
        interpreter's own `os` before the function's `os.py` (so `os.system` would run it)."""
        return file not in sys.stdlib_module_names and file != "runtimes"

    def launch(self, toolchain: Toolchain, artifact_dir: Path | None) -> list[str]:
        # -I: no PYTHON* variables, no user site, no script directory on sys.path — only the
        # runtime's own stdlib and site-packages (Flask) and, once loaded, the function's code.
        return [toolchain.executable, "-I", str(WRAPPER)]

    def version_argv(self, executable: str) -> list[str]:
        return [executable, "-c", "import platform; print(platform.python_version())"]


DRIVER = PythonDriver()
