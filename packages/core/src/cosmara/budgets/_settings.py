"""``[budgets.NAME]`` and ``[budget]``: how much may be spent, by whom, per period, and what
happens as the money runs out."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cosmara._secrets import Secret

__all__ = ["BudgetOptions", "BudgetRule", "Level", "Period", "Threshold"]

Level = Literal["org", "team", "user", "key", "tag", "model", "provider"]
Period = Literal["daily", "weekly", "monthly", "total"]


class Threshold(BaseModel):
    """What happens once a budget's spend reaches ``at`` percent of its amount."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    at: float = Field(gt=0, le=1000, description="percent of the amount")
    action: Literal["alert", "throttle", "downgrade", "block"]
    to: str | None = Field(
        default=None, description="downgrade: the model, alias or group to use instead"
    )
    requests_per_minute: float | None = Field(
        default=None, gt=0, description="throttle: the rate allowed past this threshold"
    )

    @model_validator(mode="after")
    def _complete(self) -> Threshold:
        if self.action == "downgrade" and not self.to:
            raise ValueError("a downgrade threshold needs 'to': the model, alias or group to use")
        if self.action == "throttle" and self.requests_per_minute is None:
            raise ValueError("a throttle threshold needs 'requests_per_minute'")
        return self


class BudgetRule(BaseModel):
    """A budget: ``amount_usd`` per ``period`` for the requests of one ``level``.

    ``match`` picks which: a name (``team = "support"``), ``*`` for one budget per value (each
    team its own), for ``tag`` a ``name=value`` (or ``name=*``), for ``model`` and
    ``provider`` a name or shell pattern of the target planned first (``openai/gpt-4o*``).
    Without thresholds a budget blocks at 100 %.
    """

    model_config = ConfigDict(defer_build=True, extra="forbid")

    level: Level
    match: str = "*"
    amount_usd: float = Field(gt=0, allow_inf_nan=False)
    period: Period = "monthly"
    rollover: bool = Field(
        default=False, description="add what the previous period left unspent to this one"
    )
    thresholds: list[Threshold] = Field(default_factory=lambda: [Threshold(at=100, action="block")])

    @model_validator(mode="after")
    def _tag_match(self) -> BudgetRule:
        if self.level == "tag" and "=" not in self.match:
            raise ValueError("a tag budget's match is 'name=value' or 'name=*'")
        return self

    @property
    def block_at(self) -> float | None:
        """The lowest percent that blocks, None when the budget never blocks."""
        blocks = [t.at for t in self.thresholds if t.action == "block"]
        return min(blocks) if blocks else None


class BudgetOptions(BaseModel):
    """``[budget]``: settings shared by every budget."""

    model_config = ConfigDict(defer_build=True, extra="forbid", hide_input_in_errors=True)

    timezone: str = Field(default="UTC", description="where days, weeks and months begin")
    lease_seconds: float = Field(
        default=900.0,
        gt=0,
        description="how long a reservation holds money if its process dies before settling",
    )
    output_tokens_when_unset: int | None = Field(
        default=None,
        ge=1,
        description="the output reserved for a request without max_tokens: by default the "
        "model's own maximum (so nothing can overspend); less reserves less, and a longer "
        "answer then settles above its reservation",
    )
    webhook: str | None = Field(default=None, description="a URL alerts are POSTed to as JSON")
    webhook_headers: dict[str, Secret] = Field(
        default_factory=dict, description="sent with each alert (an Authorization, say)"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r} (an IANA name: 'Europe/Paris')") from None
        return name

    @field_validator("webhook")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is not None:
            from cosmara._urls import base_url_problem

            problem = base_url_problem(url)
            if problem is not None:
                raise ValueError(f"webhook {problem}")
        return url
