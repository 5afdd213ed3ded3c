"""Response models of the catalog routes (`/lambda/runtimes`, `/default`, `/setup`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from engine.catalog import DEFAULT_RUNTIME, CatalogRecord, RuntimeEntry, image_for
from runtimes.registry import UnknownRuntimeError, driver


class RuntimeOut(BaseModel):
    runtime: str = Field(examples=[DEFAULT_RUNTIME[0]])
    version: str = Field(examples=[DEFAULT_RUNTIME[1]])
    image: str = Field(examples=[image_for(*DEFAULT_RUNTIME)])
    default_code: str
    default_handler: str = Field(examples=["handler.handler"])
    run_command: str
    editor: str = Field(
        examples=["javascript"], description="The console editor's syntax mode for the code."
    )
    disabled: bool = False
    reg_date: datetime
    update_date: datetime

    @classmethod
    def of(cls, record: CatalogRecord) -> RuntimeOut:
        entry = record.entry
        return cls(
            runtime=entry.runtime,
            version=entry.version,
            image=entry.image,
            default_code=entry.default_code,
            default_handler=entry.default_handler,
            run_command=entry.run_command,
            editor=editor_mode(entry.runtime),
            disabled=entry.disabled,
            reg_date=record.reg_date,
            update_date=record.update_date,
        )


def editor_mode(runtime: str) -> str:
    """The runtime driver's editor mode; plain text for a catalog entry no runtime serves."""
    try:
        return driver(runtime).editor_mode
    except UnknownRuntimeError:
        return "text"


class RuntimeList(BaseModel):
    items: list[RuntimeOut]


class DefaultOut(BaseModel):
    """The shape of a new function: what the create form starts with."""

    runtime: str = Field(examples=[DEFAULT_RUNTIME[0]])
    version: str = Field(examples=[DEFAULT_RUNTIME[1]])
    handler: str = Field(examples=["handler.handler"])
    image: str = Field(examples=[image_for(*DEFAULT_RUNTIME)])
    code: str = Field(description="The runtime's default code.")
    memory_mb: int = Field(examples=[128])
    timeout_ms: int = Field(examples=[3000])
    concurrency: int = Field(examples=[10])

    @classmethod
    def of(cls, entry: RuntimeEntry, limits: dict[str, int]) -> DefaultOut:
        return cls(
            runtime=entry.runtime,
            version=entry.version,
            handler=entry.default_handler,
            image=entry.image,
            code=entry.default_code,
            **limits,
        )


class SetupOut(BaseModel):
    inserted: int = Field(examples=[4], description="Documents created (0 on a repeat).")
    updated: int = Field(examples=[0], description="Entries refreshed from this release.")
    runtimes: list[RuntimeOut]


class SetupPlanOut(BaseModel):
    """What `POST /lambda/setup` would change; nothing is written."""

    missing: list[str] = Field(
        examples=[["golang:1.22"]], description="Entries (`runtime:version`) it would insert."
    )
    outdated: list[str] = Field(
        examples=[[]], description="Stored entries that differ from this release's."
    )
    runtimes: list[RuntimeOut] = Field(description="The stored catalog, disabled ones too.")
