"""Marshmallow fields the API's query and body schemas share."""

from __future__ import annotations

import datetime as dt
from typing import Any

import marshmallow as ma


class UTCDateTime(ma.fields.AwareDateTime):
    """An ISO-8601 time (UTC when it names no zone), converted to UTC; one that has no UTC value is a 422."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(default_timezone=dt.UTC, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.datetime:
        when = super()._deserialize(value, attr, data, **kwargs)
        try:
            return when.astimezone(dt.UTC)
        except OverflowError:
            raise ma.ValidationError("Not a time that exists in UTC.") from None


def tenant_arg() -> ma.fields.String:
    """`?tenant=`: whose rows to read (a platform admin's choice; everyone else reads their own)."""
    return ma.fields.String(
        validate=ma.validate.Regexp(r"^[A-Za-z0-9._-]{1,64}$", error="1-64 characters of A-Z a-z 0-9 . _ -"),
        metadata={"description": "Another tenant's rows (platform admins only; default: your own)"},
    )
