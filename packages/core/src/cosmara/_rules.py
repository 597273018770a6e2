"""Rule-based routing: ordered conditions on who asks, their labels, the time and the request
size, each sending matching requests to a model, alias or group, optionally under a cost cap.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cosmara._context import RequestContext

__all__ = ["Rule", "RuleCondition"]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class RuleCondition(BaseModel):
    """Every given field must hold; an empty condition matches every request."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    org: list[str] | None = None
    team: list[str] | None = None
    user: list[str] | None = None
    tags: dict[str, str] = Field(
        default_factory=dict, description="each key present; a non-empty value must also match"
    )
    metadata: dict[str, Any] = Field(default_factory=dict)
    hours: tuple[int, int] | None = Field(
        default=None, description="[start, end) hours; start > end wraps past midnight"
    )
    days: list[Weekday] | None = None
    timezone: str | None = Field(
        default=None, description="IANA zone that hours and days are read in; default UTC"
    )
    min_prompt_tokens: int | None = Field(default=None, ge=0)
    max_prompt_tokens: int | None = Field(default=None, ge=0)

    def matches(
        self, context: RequestContext, now: datetime, prompt_tokens: Callable[[], int]
    ) -> bool:
        # Checked on every request to a group with rules: plain ifs, cheapest first.
        if self.org is not None and context.org not in self.org:
            return False
        if self.team is not None and context.team not in self.team:
            return False
        if self.user is not None and context.user not in self.user:
            return False
        if self.tags:
            for key, value in self.tags.items():
                if key not in context.tags or (value and context.tags[key] != value):
                    return False
        if self.metadata and any(
            context.metadata.get(key) != value for key, value in self.metadata.items()
        ):
            return False
        if self.timezone is not None and (self.days is not None or self.hours is not None):
            now = now.astimezone(self._zone)
        if self.days is not None and _WEEKDAYS[now.weekday()] not in self.days:
            return False
        if self.hours is not None:
            start, end = self.hours
            inside = (
                start <= now.hour < end if start <= end else now.hour >= start or now.hour < end
            )
            if not inside:
                return False
        if self.min_prompt_tokens is None and self.max_prompt_tokens is None:
            return True
        size = prompt_tokens()
        if self.min_prompt_tokens is not None and size < self.min_prompt_tokens:
            return False
        return self.max_prompt_tokens is None or size <= self.max_prompt_tokens

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str | None) -> str | None:
        if name is not None:
            _zone(name)
        return name

    @cached_property
    def _zone(self) -> tzinfo:
        return _zone(self.timezone or "UTC")


def _zone(name: str) -> tzinfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # only rules with a zone need it

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name like 'Europe/Paris'"
        ) from None


class Rule(BaseModel):
    """When the condition holds, send the request to ``use`` (a model, alias or group)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    when: RuleCondition = Field(default_factory=RuleCondition)
    use: str
    max_cost_usd: float | None = Field(
        default=None, gt=0, description="drop targets whose cost ceiling for the request is higher"
    )
