"""One typed hierarchy for every failure a caller may want to tell apart.

Each class carries a stable machine-readable `code`; the API maps classes to HTTP statuses in a
single table (api/errors.py), so the engine never speaks HTTP.
"""

from __future__ import annotations


class LambdaCloneError(Exception):
    """Base of every error the platform raises on purpose."""

    code = "internal_error"

    def __init__(self, message: str, *, detail: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or {}


# --- the caller's input --------------------------------------------------------------------
class InvalidInput(LambdaCloneError):
    code = "invalid_input"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message, detail={"field": field} if field else None)
        if code:
            self.code = code
        self.field = field


class UnknownRuntime(InvalidInput):
    def __init__(self, runtime: str, version: str) -> None:
        super().__init__(
            f"runtime {runtime} {version} is not in the catalog (see GET /lambda/runtimes)",
            field="runtime",
            code="unknown_runtime",
        )


class CodeTooLarge(InvalidInput):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"code is {size} bytes; the limit is {limit} bytes", field="file", code="code_too_large"
        )


class PayloadTooLarge(LambdaCloneError):
    code = "payload_too_large"


class PackageRefused(InvalidInput):
    """A function package (zip archive) that is not unpacked: unsafe paths (`package_unsafe_path`),
    symlinks leaving it (`package_symlink`), a zip bomb (`package_bomb`), no handler file
    (`package_no_handler`), too many entries (`package_too_many_entries`), a dependency
    manifest naming a local path, a file URL or an installer option (`unsafe_dependency`) or
    not a readable archive (`invalid_package`). Nothing is stored."""

    def __init__(self, message: str, *, code: str, path: str | None = None) -> None:
        super().__init__(message, field="package", code=code)
        if path is not None:
            self.detail["path"] = path


class PackageTooLarge(PackageRefused):
    """Over Lambda's package limits: 50 MB zipped, 250 MB unpacked."""

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message, code="package_too_large")
        self.detail["limit"] = limit


# --- the state of things -------------------------------------------------------------------
class FunctionNotFound(LambdaCloneError):
    code = "function_not_found"

    def __init__(self, key: str) -> None:
        super().__init__(f"no function with key {key!r}", detail={"key": key})


class OperationNotFound(LambdaCloneError):
    code = "operation_not_found"

    def __init__(self, operation_id: str) -> None:
        super().__init__(f"no operation {operation_id!r}", detail={"operation": operation_id})


class StaleRevision(LambdaCloneError):
    """An update was based on a revision that is no longer the latest."""

    code = "stale_revision"

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(
            f"the update was based on revision {expected}, but the function is at {actual}",
            detail={"expected_revision": expected, "current_revision": actual},
        )


class IdempotencyConflict(LambdaCloneError):
    """The same idempotency key was used before with a different request body."""

    code = "idempotency_key_reused"


class FunctionBusy(LambdaCloneError):
    """Another operation on the same function has not finished."""

    code = "operation_in_progress"


# --- the platform's parts ------------------------------------------------------------------
class StoreUnavailable(LambdaCloneError):
    code = "store_unavailable"


class DataPlaneFailed(LambdaCloneError):
    """The Go data plane (`data_plane = "go"`) could not start: the control plane does not
    serve without its public port (never an HTTP answer)."""

    code = "data_plane_failed"


class TargetError(LambdaCloneError):
    """Provisioning failed in the target (local processes or the Pulumi/Kubernetes engine)."""

    code = "target_error"


class ToolMissing(TargetError):
    code = "tool_missing"


class DependencyBuildFailed(TargetError):
    """pip, npm or go could not install a function's declared dependencies; the message ends
    with the tail of the tool's own output (`detail.build_output`)."""

    code = "dependency_build_failed"


class StackLocked(TargetError):
    """A function's Pulumi stack is locked by an update another live process is running."""

    code = "stack_locked"


# --- invoking ------------------------------------------------------------------------------
class InvokeError(LambdaCloneError):
    code = "invoke_error"


class FunctionNotReady(InvokeError):
    code = "function_not_ready"


class TooManyRequests(InvokeError):
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after_s: int = 1) -> None:
        super().__init__(message, detail={"retry_after_s": retry_after_s})
        self.retry_after_s = retry_after_s


class FunctionCrashed(InvokeError):
    code = "function_crashed"


class FunctionTimedOut(InvokeError):
    code = "function_timed_out"


class ResponseTooLarge(InvokeError):
    code = "response_too_large"


# --- the control plane (added for the /lambda API) -----------------------------------------
class CodeNotFound(LambdaCloneError):
    """A revision points at code the code store no longer has."""

    code = "code_not_found"


class CatalogSourceMissing(LambdaCloneError):
    """A runtime's default code file is missing from the installed `runtimes/` package."""

    code = "catalog_source_missing"


class OperationFailed(LambdaCloneError):
    """An awaited operation finished in `failed`; carries the recorded error's code."""

    def __init__(self, operation_id: str, code: str, message: str, detail: dict[str, object]):
        super().__init__(message, detail={**detail, "operation": operation_id})
        self.code = code
        self.operation_id = operation_id


# --- request hygiene and lifecycle races (added after the control-plane review) ------------
class UnsupportedMediaType(LambdaCloneError):
    """A body in a content type the route does not read (JSON needs `application/json`)."""

    code = "unsupported_media_type"


class CrossSiteRequest(LambdaCloneError):
    """A state-changing request a browser sent on behalf of another site."""

    code = "cross_site_request"


class HostNotAllowed(LambdaCloneError):
    """A state-changing request for a host name the control plane does not serve (DNS
    rebinding); see the `allowed_hosts` setting."""

    code = "host_not_allowed"


class FunctionDeleting(FunctionBusy):
    """The function is being deleted: no further change is accepted."""

    code = "function_deleting"


class OperationCancelled(LambdaCloneError):
    """An operation skipped because its function was deleted (or a delete was queued)."""

    code = "operation_cancelled"


# --- who may do what -----------------------------------------------------------------------
class Unauthenticated(LambdaCloneError):
    """No credential, or one that is unknown, revoked or expired (all answered alike)."""

    code = "unauthenticated"


class Forbidden(LambdaCloneError):
    """A valid credential whose role (or function binding) does not allow the action."""

    code = "forbidden"


class TokenNotFound(LambdaCloneError):
    code = "token_not_found"

    def __init__(self, token_id: str) -> None:
        super().__init__(f"no token {token_id!r}", detail={"token": token_id})


class SecretKeyError(LambdaCloneError):
    """The secret key is malformed, or does not open what was sealed with another."""

    code = "secret_key_invalid"


# --- what a deployment can do ----------------------------------------------------------------
class NotSupported(LambdaCloneError):
    """The configured target cannot do this (e.g. keep function logs)."""

    code = "not_supported"


# --- layers --------------------------------------------------------------------------------
class UnknownLayer(InvalidInput):
    """A create or update names a layer version that does not exist (or is being deleted)."""

    def __init__(self, label: str) -> None:
        super().__init__(
            f"layer version {label} does not exist (see GET /lambda/layers/versions)",
            field="layers",
            code="unknown_layer",
        )
        self.detail["layer"] = label


class LayerVersionNotFound(LambdaCloneError):
    code = "layer_version_not_found"

    def __init__(self, label: str) -> None:
        super().__init__(f"no layer version {label}", detail={"layer": label})


class LayerPublishConflict(LambdaCloneError):
    """So many publishes of one layer name at once that no version number was free after a
    bounded number of tries; nothing was recorded, and a retry will succeed."""

    code = "layer_publish_conflict"


class LayerVersionInUse(LambdaCloneError):
    """A layer version that a function (even one being deleted) still attaches."""

    code = "layer_version_in_use"
