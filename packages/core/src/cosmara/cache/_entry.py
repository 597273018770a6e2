"""A cached answer as stored bytes: one JSON object holding what the answer cost, who served
it, the question for a semantic match, and the response itself, parsed in one pass (a hit's
main cost is reading it back)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from cosmara._response import ChatResponse

__all__ = ["Entry"]

_FORMAT = 2


class _Stored(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="ignore")

    format: Literal[2]
    cost_usd: float | None = None
    provider: str = ""
    model: str = ""
    question: str | None = None
    created: float = 0.0
    response: ChatResponse


@dataclass(frozen=True)
class Entry:
    response: ChatResponse
    cost_usd: float | None  # what the provider charged for it: what each hit saves
    provider: str
    model: str
    question: str | None = None  # the text a semantic match is verified against
    created: float = 0.0

    def dumps(self) -> bytes:
        header = json.dumps(
            {
                "format": _FORMAT,
                "cost_usd": self.cost_usd,
                "provider": self.provider,
                "model": self.model,
                "question": self.question,
                "created": self.created,
            },
            ensure_ascii=False,
        )
        # Only the fields the answer came with: a hit must read exactly as the original did
        # (a null the provider sent stays, a default it did not send stays unsent).
        body = self.response.model_dump_json(exclude={"cosmara"}, exclude_unset=True)
        return f'{header[:-1]}, "response": {body}}}'.encode()

    @classmethod
    def loads(cls, raw: bytes) -> Entry | None:
        """The entry, or None for bytes of another format (an older or newer version's, or
        not an entry at all): a miss."""
        try:
            stored = _Stored.model_validate_json(raw)
        except ValidationError:
            return None
        return cls(
            stored.response,
            stored.cost_usd,
            stored.provider,
            stored.model,
            stored.question,
            stored.created,
        )
