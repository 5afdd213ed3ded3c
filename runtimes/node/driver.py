"""The node runtime: a dependency-free wrapper serving `<file>.mjs` or `.cjs`, Express or
Lambda style."""

from __future__ import annotations

import re
from pathlib import Path

from runtimes.driver import RuntimeDriver, Toolchain

HERE = Path(__file__).absolute().parent
WRAPPER = HERE / "wrapper.mjs"
JS_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
OBJECT_MEMBERS = frozenset(
    "constructor hasOwnProperty isPrototypeOf propertyIsEnumerable toLocaleString toString "
    "valueOf __proto__ __defineGetter__ __defineSetter__ __lookupGetter__ __lookupSetter__".split()
)
"""What every JavaScript object has: never a handler the user wrote."""
# An import or export statement at the start of a line (not `import(...)`, valid in CommonJS).
ESM_SYNTAX = re.compile(
    r"^\s*(import\s*[{*'\"]|import\s+[\w$]+\s*(,|from\b)"
    r"|export\s*[{*]|export\s+(default|const|let|var|function|async|class)\b)",
    re.MULTILINE,
)


class NodeDriver(RuntimeDriver):
    name = "node"
    editor_mode = "javascript"
    line_comment = "//"
    conventions = ("auto", "original", "lambda", "kubeless")
    image_command = ("node", "/opt/lambdaclone/runtimes/node/wrapper.mjs")
    toolchain_candidates = ("node",)
    execution_env_format = "AWS_Lambda_nodejs{version}.x"
    image_runtime_dir = "/opt/lambdaclone/runtimes/node"

    @property
    def default_code_path(self) -> Path:
        return HERE / "default" / "handler.mjs"

    def code_filename(self, handler: str, code: str) -> str:
        """`.mjs` when the code uses ES module syntax (import/export statements), else `.cjs`,
        so node never has to guess the module type."""
        file, _ = self.handler_parts(handler)
        return f"{file}.mjs" if ESM_SYNTAX.search(code) else f"{file}.cjs"

    def is_function_name(self, function: str) -> bool:
        """A JS identifier (`default` is fine: it names a module's default export) that every
        object does not inherit: a CommonJS exports object has `constructor`, `toString`…"""
        return JS_IDENTIFIER.fullmatch(function) is not None and function not in OBJECT_MEMBERS

    def launch(self, toolchain: Toolchain, artifact_dir: Path | None) -> list[str]:
        return [toolchain.executable, str(WRAPPER)]

    def parse_version(self, output: str) -> str:
        return output.strip().removeprefix("v")


DRIVER = NodeDriver()
