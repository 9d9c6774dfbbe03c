"""The one place that picks the dialect's INSERT (for ON CONFLICT DO NOTHING on both databases)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def insert_for(s: Session, model: type) -> Any:
    """INSERT for `model` in the session's dialect (both support .on_conflict_do_nothing)."""
    return (pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert)(model)


def insert_ignore(s: Session, model: type, rows: list[dict[str, Any]] | dict[str, Any], conflict: list[str]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING, so concurrent workers never fail on a race."""
    if not rows:
        return
    s.execute(insert_for(s, model).values(rows).on_conflict_do_nothing(index_elements=conflict))
