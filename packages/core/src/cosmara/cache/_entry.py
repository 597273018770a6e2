"""A cached answer as stored bytes: a one-line JSON header (what the answer cost, who served
it, the question for a semantic match), then the response's own JSON. A hit parses the header
and validates the response straight from its bytes."""

from __future__ import annotations

import json
from dataclasses import dataclass

from cosmara._response import ChatResponse

__all__ = ["Entry"]

_FORMAT = 1


@dataclass(frozen=True)
class Entry:
    response: ChatResponse
    cost_usd: float | None  # what the provider charged for it: what each hit saves
    provider: str
    model: str
    question: str | None = None  # the text a semantic match is verified against
    created: float = 0.0

    def dumps(self) -> bytes:
        header = {
            "format": _FORMAT,
            "cost_usd": self.cost_usd,
            "provider": self.provider,
            "model": self.model,
            "question": self.question,
            "created": self.created,
        }
        # Only the fields the answer came with: a hit must read exactly as the original did
        # (a null the provider sent stays, a default it did not send stays unsent).
        body = self.response.model_dump_json(exclude={"cosmara"}, exclude_unset=True)
        return json.dumps(header, ensure_ascii=False).encode("utf-8") + b"\n" + body.encode()

    @classmethod
    def loads(cls, raw: bytes) -> Entry | None:
        """The entry, or None for bytes of another format (a newer version's): a miss."""
        head, _, body = raw.partition(b"\n")
        try:
            header = json.loads(head)
            if header.get("format") != _FORMAT:
                return None
            response = ChatResponse.model_validate_json(body)
        except ValueError:
            return None
        return cls(
            response=response,
            cost_usd=header.get("cost_usd"),
            provider=str(header.get("provider", "")),
            model=str(header.get("model", "")),
            question=header.get("question"),
            created=float(header.get("created") or 0.0),
        )
