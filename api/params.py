"""Query parameters shared by the routers, declared once so they validate and document alike."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

KeyQuery = Annotated[str, Query(description="The function's key.", min_length=1, max_length=64)]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size (at most 100).")]
