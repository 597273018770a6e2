"""Who a request is for, and the labels it carries: the hook for budgets, caching and rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cosmara._errors import RequestValidationError

__all__ = ["RequestContext"]


class RequestContext(BaseModel):
    """The caller's identity and labels, passed per call and recorded in ``resp.cosmara``.

    ``tags`` are key/value labels (``{"feature": "faq"}``); a list of bare labels is accepted and
    stored with empty values. ``metadata`` is free-form and is never sent to a provider.
    """

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    org: str | None = None
    team: str | None = None
    user: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def build(
        cls,
        *,
        org: str | None = None,
        team: str | None = None,
        user: str | None = None,
        tags: Mapping[str, str] | Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        base: RequestContext | None = None,
    ) -> RequestContext:
        """Merge per-call values over ``base`` (the client's defaults).

        Raises:
            RequestValidationError: a value of the wrong type, naming the field.
        """
        for field, value in (("org", org), ("team", team), ("user", user)):
            if value is not None and not isinstance(value, str):
                raise RequestValidationError(
                    f"{field} must be a string, not {type(value).__name__}"
                )
        tags = _labels(tags)
        if metadata is not None and not (
            isinstance(metadata, Mapping) and all(isinstance(key, str) for key in metadata)
        ):
            raise RequestValidationError("metadata must be a mapping with string keys")
        if base is None:
            return cls(org=org, team=team, user=user, tags=tags, metadata=dict(metadata or {}))
        return cls(
            org=org if org is not None else base.org,
            team=team if team is not None else base.team,
            user=user if user is not None else base.user,
            tags={**base.tags, **tags},
            metadata={**base.metadata, **(metadata or {})},
        )


def _labels(tags: object) -> dict[str, str]:
    """Tags as key/value labels: a mapping of strings, one label, or a list of labels."""
    if tags is None:
        return {}
    if isinstance(tags, str):
        return {tags: ""}  # one label, not its characters
    if isinstance(tags, Mapping):
        if all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
            return dict(tags)
    elif isinstance(tags, (list, tuple, set, frozenset)) and all(
        isinstance(label, str) for label in tags
    ):
        return dict.fromkeys(tags, "")
    raise RequestValidationError(
        "tags must be a mapping of strings to strings, or a list of strings"
    )
