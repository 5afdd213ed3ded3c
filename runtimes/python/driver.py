"""The python runtime: a stdlib-only wrapper serving `<file>.py`, Flask or Lambda style."""

from __future__ import annotations

import keyword
import sys
from pathlib import Path

from runtimes.driver import Prewarm, RuntimeDriver, Toolchain

HERE = Path(__file__).absolute().parent
WRAPPER = HERE / "wrapper.py"


class PythonDriver(RuntimeDriver):
    name = "python"
    editor_mode = "python"
    image_command = ("python", "/opt/lambdaclone/runtimes/python/wrapper.py")
    toolchain_candidates = (sys.executable,)
    prewarm = Prewarm(
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

    def launch(self, toolchain: Toolchain, artifact_dir: Path | None) -> list[str]:
        return [toolchain.executable, str(WRAPPER)]

    def version_argv(self, executable: str) -> list[str]:
        return [executable, "-c", "import platform; print(platform.python_version())"]


DRIVER = PythonDriver()
