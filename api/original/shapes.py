"""The original backend's wire shapes (its `Lambda`, runtimes, list page and error) and how
our records are written in them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.bodies import JSON_TYPE, FunctionFields
from engine.catalog import CatalogRecord
from engine.records import FunctionRecord


# --- shapes --------------------------------------------------------------------
class OriginalLambda(BaseModel):
    """The original backend's `Lambda`."""

    id: str = Field(description="The function's key.", examples=["k3x2..."])
    title: str = Field(examples=["My function"])
    runtime: str = Field(examples=["node"])
    version: str = Field(examples=["20"])
    code: str = Field(description="The source code; empty in lists and in the default.")
    disabled: bool = Field(description="True once deleted.")
    reg_date: str = Field(examples=["2024-05-01T12:34:56.789Z"], description="RFC 3339, UTC.")
    update_date: str = Field(examples=["2024-05-01T12:34:56.789Z"])


class OriginalRuntime(BaseModel):
    runtime: str = Field(examples=["node"])
    version: str = Field(examples=["20"])
    image: str = Field(examples=["lambdaclone/runtime-node:20"])
    run_command: str
    default_code: str
    disabled: bool
    reg_date: str = Field(examples=["2024-05-01T12:34:56.789Z"])
    update_date: str = Field(examples=["2024-05-01T12:34:56.789Z"])

    @classmethod
    def of(cls, record: CatalogRecord) -> OriginalRuntime:
        entry = record.entry
        return cls(
            runtime=entry.runtime,
            version=entry.version,
            image=entry.image,
            run_command=entry.run_command,
            default_code=entry.default_code,
            disabled=entry.disabled,
            reg_date=go_time(record.reg_date),
            update_date=go_time(record.update_date),
        )


class OriginalRuntimes(BaseModel):
    runtimes: list[OriginalRuntime]


class OriginalList(BaseModel):
    lambdas: list[OriginalLambda]
    pages: int = Field(description="ceil(cnt / limit).")
    cnt: int = Field(description="Functions that are not deleted.")


class OriginalError(BaseModel):
    error: str = Field(examples=["lambda is not a valid format"])


class OriginalBody(FunctionFields):
    """`{id, title, runtime, version, code}`; other fields (the console's `endpoint`) are
    ignored, as Go's JSON decoding ignores them."""

    model_config = ConfigDict(extra="ignore")

    id: str | None = Field(default=None, description="Empty on create; the key on update.")
    endpoint: str | None = Field(default=None, description="Sent by the console; ignored.")


def body_doc(*required: str) -> dict[str, Any]:
    """`openapi_extra` describing the JSON body: the original's fields only (the routes read
    the body themselves, see `_read`)."""
    properties = OriginalBody.model_json_schema()["properties"]
    shown = ("id", "title", "runtime", "version", "code", "endpoint")
    schema = {
        "type": "object",
        "properties": {name: properties[name] for name in shown},
        "required": list(required),
    }
    return {"requestBody": {"required": True, "content": {JSON_TYPE: {"schema": schema}}}}


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": OriginalError, "description": "The request is wrong (the message says how)."},
    500: {"model": OriginalError, "description": "The platform failed (or the deployment did)."},
    "4XX": {"model": OriginalError, "description": "401/403 when the dialect needs tokens (`on`)."},
}
"""Every failure is one of these: request validation answers 400 too, never FastAPI's 422."""


# --- values -------------------------------------------------------------------------------
def lambda_of(record: FunctionRecord, code: str = "") -> OriginalLambda:
    """A function as the original's `Lambda`; a function created without a title (by the
    native API) shows its name."""
    config = record.spec.config
    return OriginalLambda(
        id=record.key,
        title=config.title or config.name,
        runtime=config.runtime,
        version=config.runtime_version,
        code=code,
        disabled=record.disabled,
        reg_date=go_time(record.reg_date),
        update_date=go_time(record.update_date),
    )


def go_time(value: datetime) -> str:
    """A date as the original answered it: Go's `time.Time` JSON (RFC 3339 with the fraction's
    trailing zeros dropped) of a MongoDB date (milliseconds, decoded as UTC):
    `2024-05-01T12:34:56.78Z`, `2024-05-01T12:34:56Z`."""
    utc = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    fraction = f"{utc.microsecond // 1000:03d}".rstrip("0")
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"
