"""The node runtime: a dependency-free wrapper serving `<file>.mjs` or `.cjs`, Express or
Lambda style. A package whose handler is TypeScript (`<file>.ts`, `.mts`, `.cts`) is compiled
by esbuild when it is deployed, as AWS SAM's esbuild builds do (`compile`)."""

from __future__ import annotations

import re
from pathlib import Path

from runtimes.driver import BuildPlan, CompileRequest, RuntimeDriver, Toolchain

HERE = Path(__file__).absolute().parent
WRAPPER = HERE / "wrapper.mjs"
JS_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
OBJECT_MEMBERS = frozenset(
    [
        "constructor",
        "hasOwnProperty",
        "isPrototypeOf",
        "propertyIsEnumerable",
        "toLocaleString",
        "toString",
        "valueOf",
        "__proto__",
        "__defineGetter__",
        "__defineSetter__",
        "__lookupGetter__",
        "__lookupSetter__",
    ]
)
"""What every JavaScript object has: never a handler the user wrote."""
# An import or export statement at the start of a line (not `import(...)`, valid in CommonJS).
ESM_SYNTAX = re.compile(
    r"^\s*(import\s*[{*'\"]|import\s+[\w$]+\s*(,|from\b)"
    r"|export\s*[{*]|export\s+(default|const|let|var|function|async|class)\b)",
    re.MULTILINE,
)

JS_EXTENSIONS = (".mjs", ".cjs", ".js")
"""What the loader looks for (runtimes/node/loader.mjs), in its order."""
TS_EXTENSIONS = (".ts", ".mts", ".cts")


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

    def compile_source(self, handler: str, files: frozenset[str]) -> str | None:
        """The handler's `.ts`/`.mts`/`.cts` file, unless the package has its JavaScript (that
        is what node loads, as Lambda would: a precompiled package is used as it is)."""
        file, _ = self.handler_parts(handler)
        if any(f"{file}{ext}" in files for ext in JS_EXTENSIONS):
            return None
        return next((f"{file}{ext}" for ext in TS_EXTENSIONS if f"{file}{ext}" in files), None)

    def compile(self, request: CompileRequest) -> BuildPlan:
        """esbuild bundles the handler's own modules (not node_modules: `--packages=external`)
        into the file the loader finds, with a source map beside it. The output's module type
        is the one node gives the source's name: `.mts` ESM, `.cts` CommonJS, `.ts` ESM only
        in a `"type": "module"` package — else CommonJS, SAM's default (lodash-style packages
        keep their named imports through esbuild's interop helpers)."""
        stem, dot, ext = request.source.rpartition(".")
        if not dot or f".{ext}" not in TS_EXTENSIONS:
            raise ValueError(f"{request.source} is not a TypeScript file")
        esm = ext == "mts" or (ext == "ts" and request.package_type == "module")
        out = request.code_dir / f"{stem}{'.mjs' if esm else '.cjs'}"
        major = request.runtime_version.split(".", 1)[0]
        argv = (
            request.compiler.executable,
            request.source,
            "--bundle",
            "--platform=node",
            f"--target=node{major}",
            "--packages=external",
            f"--format={'esm' if esm else 'cjs'}",
            "--sourcemap",
            f"--outfile={out}",
            "--log-level=warning",
            "--color=false",
        )
        outputs = (out, out.with_name(f"{out.name}.map"))
        return BuildPlan(request.code_dir, (), argv, {}, outputs)

    def parse_version(self, output: str) -> str:
        return output.strip().removeprefix("v")


DRIVER = NodeDriver()
