"""Loading the user's module and choosing the convention its handler follows.

Every failure here becomes an `InvokeError("HandlerLoadError", ...)`: the wrapper keeps serving
so that health checks and invocations can tell the platform *why* the function cannot run.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from collections.abc import Callable
from pathlib import Path

from runtimes.python import kubeless_convention, lambda_convention, original_convention
from runtimes.python.common import Bound, FunctionInfo, InvokeError

CONVENTIONS = ("auto", "original", "lambda", "kubeless")


def load_error(message: str) -> InvokeError:
    return InvokeError("HandlerLoadError", message)


def load_invoker(
    code_dir: str, handler: str, convention: str, info: FunctionInfo, path_prefix: str
) -> Bound:
    """Import `<file>.py` from `code_dir`, resolve `function`, and bind the right convention."""
    if convention not in CONVENTIONS:
        raise load_error(f"LAMBDA_CONVENTION must be one of {', '.join(CONVENTIONS)}")
    module_name, _, func_name = handler.rpartition(".")
    if not module_name or not func_name:
        raise load_error(f"handler {handler!r} must look like file.function (e.g. handler.handler)")
    if not code_dir or not Path(code_dir).is_dir():
        raise load_error(f"code directory {code_dir!r} does not exist")
    module = _import(code_dir, module_name.replace("/", "."))
    fn = getattr(module, func_name, None)
    if fn is None:
        raise load_error(f"handler {func_name!r} is missing from module {module_name!r}")
    if not callable(fn):
        raise load_error(f"{handler!r} is not a function")
    if convention == "kubeless":  # chosen explicitly: its signature is Lambda's
        return Bound("kubeless", kubeless_convention.make_invoker(fn, info))
    if _is_original(fn, convention):
        return Bound("original", original_convention.make_invoker(fn, module.__name__, path_prefix))
    return Bound("lambda", lambda_convention.make_invoker(fn, info))


def _import(code_dir: str, module_name: str) -> types.ModuleType:
    root = Path(code_dir).resolve()
    sys.path.insert(0, str(root))
    # Lambda's layer paths next (-I keeps the interpreter itself from reading PYTHONPATH;
    # users may not set it: only the platform's /opt paths arrive this way)
    extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[1:1] = [p for p in extra if p not in sys.path]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise load_error(f"cannot find module {module_name!r} in {root}") from exc
        raise load_error(f"unable to import module {module_name!r}: {exc}") from exc
    except SyntaxError as exc:
        where = f"{Path(exc.filename or '?').name}, line {exc.lineno}"
        raise load_error(f"syntax error in module {module_name!r} ({where}): {exc.msg}") from exc
    # Process boundary: the module's top-level code is the user's and may raise anything.
    except Exception as exc:
        message = f"unable to import module {module_name!r}: {type(exc).__name__}: {exc}"
        raise load_error(message) from exc
    location = Path(getattr(module, "__file__", None) or "/").resolve()
    if not location.is_relative_to(root):
        raise load_error(f"module {module_name!r} is not in the code directory: rename the file")
    return module


def _is_original(fn: Callable[..., object], convention: str) -> bool:
    """The documented rule: zero required parameters means the original (Flask) convention."""
    if convention != "auto":
        return convention == "original"
    return required_parameters(fn) == 0


def required_parameters(fn: Callable[..., object]) -> int:
    """Parameters a call must supply; plain functions avoid the slow `inspect` import."""
    if isinstance(fn, types.FunctionType):
        code = fn.__code__
        positional = code.co_argcount - len(fn.__defaults__ or ())
        keyword_only = code.co_kwonlyargcount - len(fn.__kwdefaults__ or {})
        return positional + keyword_only
    import inspect  # noqa: PLC0415 - rare path; inspect is a slow import

    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 2  # an uninspectable callable: assume Lambda's (event, context)
    return sum(
        1
        for p in params
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    )
