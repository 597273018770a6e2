"""Routing strategies: order a group's candidates for one request.

A strategy is a pure function ``(candidates, request, context, health) -> ordered candidates``;
the first is tried first and the rest are its fallbacks. Candidates have already been filtered
to those that can serve the request (tools, images, JSON schema). Custom strategies register
through the ``cosmara_register_strategies`` plugin hook.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property
from types import MappingProxyType
from typing import Any, Literal

from cosmara._context import RequestContext
from cosmara._health import HealthMonitor
from cosmara._messages import ChatRequest, FilePart, ImagePart, InputAudioPart
from cosmara._routing import Target

__all__ = ["BUILTIN_STRATEGIES", "Candidates", "Strategy", "needed_capabilities"]

Strategy = Callable[
    [Sequence[Target], ChatRequest, RequestContext, HealthMonitor, Mapping[str, Any]],
    list[Target],
]

_DEFAULT_OUTPUT_TOKENS = 500
_UNPRICED = float("inf")
_BALANCE: Mapping[str, float] = MappingProxyType({"cost": 0.4, "quality": 0.4, "latency": 0.2})
_NO_WEIGHTS: Mapping[str, float] = MappingProxyType({})


def needed_capabilities(request: ChatRequest) -> frozenset[str]:
    """What a model must support to serve ``request``: ``tools``, ``json_schema``, and for
    the parts its messages (tool results too) carry, ``vision`` for images, ``audio_input``
    for audio, ``documents`` for files (a file whose type says image or audio needs what an
    image or audio needs)."""
    needs = set()
    if request.tools:
        needs.add("tools")
    if request.response_format is not None and request.response_format.type == "json_schema":
        needs.add("json_schema")
    for message in request.messages:
        content = message.content
        if not isinstance(content, list):
            continue
        for part in content:
            if isinstance(part, ImagePart):
                needs.add("vision")
            elif isinstance(part, InputAudioPart):
                needs.add("audio_input")
            elif isinstance(part, FilePart):
                needs.add(_file_need(part))
    return frozenset(needs)


def _file_need(part: FilePart) -> str:
    media_type = part.file.media_type or ""
    if media_type.startswith("image/"):
        return "vision"
    if media_type.startswith("audio/"):
        return "audio_input"
    return "documents"


class Candidates(tuple[Target, ...]):
    """Targets to rank, with their catalog figures laid out once as columns.

    A group's candidates for one kind of request are made once per client, so ranking 50 of
    them per request reads four lists instead of 200 attributes. Any sequence of targets is
    accepted by the strategies; a plain one is wrapped on the way in.
    """

    @cached_property
    def ids(self) -> list[str]:
        return [t.id for t in self]

    @cached_property
    def qualities(self) -> list[int]:
        return [(t.info.quality or 0) if t.info else 0 for t in self]

    @cached_property
    def prices(self) -> list[tuple[float, float]]:
        """(input, output) USD per million tokens; infinite for an unpriced target."""
        return [(t.info.input, t.info.output) if t.info else (_UNPRICED, _UNPRICED) for t in self]

    @cached_property
    def windows(self) -> list[int | None]:
        """Context windows in tokens, None where the catalog does not say."""
        return [t.info.context_window if t.info else None for t in self]

    @cached_property
    def smallest_window(self) -> int | None:
        return min((w for w in self.windows if w is not None), default=None)

    @cached_property
    def all_priced(self) -> bool:
        return all(t.info is not None for t in self)

    @cached_property
    def quality_scaled(self) -> list[float]:
        """Quality scores scaled 0..1 between the lowest and highest (0.5 if all equal)."""
        low, high = min(self.qualities, default=0), max(self.qualities, default=0)
        return [(q - low) / (high - low) if high > low else 0.5 for q in self.qualities]

    def costs(self, request: ChatRequest) -> list[float]:
        """Each target's estimated cost of ``request`` in micro-USD (the prompt by a character
        bound, the output by max_tokens): what counts is how they compare."""
        prompt = sum(
            len(m.content) if isinstance(m.content, str) else 1000 for m in request.messages
        )
        prompt_tokens = max(prompt / 4, 1.0)
        output = request.max_tokens or _DEFAULT_OUTPUT_TOKENS
        return [prompt_tokens * i + output * o for i, o in self.prices]

    @cached_property
    def quality_keys(self) -> list[int]:
        """Negated quality scores: ascending keys that put the best first."""
        return [-q for q in self.qualities]

    @cached_property
    def best_first(self) -> list[int]:
        """Positions by descending quality score; equal scores keep their order."""
        return sorted(range(len(self)), key=self.quality_keys.__getitem__)

    def by_weight(self, weights: Mapping[str, float]) -> tuple[list[Target], list[float]]:
        """The targets by descending weight and their cumulative weights in that order,
        remembered while ``weights`` is the same object (a group's options live as long as
        its client, so this is worked out once per group, not per request)."""
        last = self.__dict__.get("_by_weight")
        if last is None or last[0] is not weights:
            shares = [weights.get(i, 0) for i in self.ids]
            order = self.ranked([-share for share in shares])
            cumulative = list(itertools.accumulate(sorted(shares, reverse=True)))
            last = self.__dict__["_by_weight"] = (weights, order, cumulative)
        return last[1], last[2]

    def ranked(self, keys: Sequence[float], order: Iterable[int] | None = None) -> list[Target]:
        """The targets by ascending key; ties keep ``order`` (by default, their own)."""
        positions = sorted(range(len(self)) if order is None else order, key=keys.__getitem__)
        return [self[i] for i in positions]


def _columns(candidates: Sequence[Target]) -> Candidates:
    return candidates if isinstance(candidates, Candidates) else Candidates(candidates)


def by_cost(
    candidates: Sequence[Target],
    request: ChatRequest,
    context: RequestContext,
    health: HealthMonitor,
    options: Mapping[str, Any],
) -> list[Target]:
    """Cheapest for this request first; the better model wins a tie."""
    c = _columns(candidates)
    return c.ranked(c.costs(request), c.best_first)


def by_quality(
    candidates: Sequence[Target],
    request: ChatRequest,
    context: RequestContext,
    health: HealthMonitor,
    options: Mapping[str, Any],
) -> list[Target]:
    """Highest catalog quality score first; the cheaper model wins a tie."""
    c = _columns(candidates)
    cheapest_first = sorted(range(len(c)), key=c.costs(request).__getitem__)
    return c.ranked(c.quality_keys, cheapest_first)


def by_latency(
    candidates: Sequence[Target],
    request: ChatRequest,
    context: RequestContext,
    health: HealthMonitor,
    options: Mapping[str, Any],
) -> list[Target]:
    """Lowest observed latency (EWMA) first. Targets never measured go after measured ones,
    best first, so they still get traffic once the measured ones fail."""
    c = _columns(candidates)
    latencies = [_UNPRICED if v is None else v for v in health.latencies(c.ids)]
    return c.ranked(latencies, c.best_first)


def balanced(
    candidates: Sequence[Target],
    request: ChatRequest,
    context: RequestContext,
    health: HealthMonitor,
    options: Mapping[str, Any],
) -> list[Target]:
    """Highest weighted score of cheapness, quality and speed, each scaled 0..1 over the group.

    An unpriced candidate scores 0 for cheapness; an unmeasured one 0.5 for speed.
    """
    weights = {**_BALANCE, **(options.get("balance") or {})}
    w_cost, w_quality, w_latency = weights["cost"], weights["quality"], weights["latency"]
    c = _columns(candidates)
    # Ranking by -score is ranking by this key, linear in the raw values: no per-value scaling.
    costs, per_cost = _spread(c.costs(request), c.all_priced, stand_in="highest")
    measured = health.latencies(c.ids)
    latencies, per_ms = _spread(measured, None not in measured, stand_in="middle")
    w_cost *= per_cost
    w_latency *= per_ms
    keys = [
        w_cost * cost - w_quality * quality + w_latency * latency
        for cost, quality, latency in zip(costs, c.quality_scaled, latencies, strict=True)
    ]
    return c.ranked(keys)


def _spread(
    values: Sequence[Any], complete: bool, *, stand_in: Literal["highest", "middle"]
) -> tuple[Sequence[float], float]:
    """``values`` with unknown ones (None, unpriced) standing at the highest known value or the
    middle of the known range, and one over that range (0 when there is none): multiplied by
    it, every value lands in 0..1 the way the score defines."""
    if complete:
        low, high = min(values, default=0.0), max(values, default=0.0)
    else:
        known = [v for v in values if v is not None and v != _UNPRICED]
        if not known:
            return [0.0] * len(values), 0.0
        low, high = min(known), max(known)
        missing = high if stand_in == "highest" else (low + high) / 2
        values = [missing if v is None or v == _UNPRICED else v for v in values]
    return values, (1 / (high - low) if high > low else 0.0)


def weighted(
    candidates: Sequence[Target],
    request: ChatRequest,
    context: RequestContext,
    health: HealthMonitor,
    options: Mapping[str, Any],
) -> list[Target]:
    """Traffic split: the first target drawn by weight, the rest by weight as fallbacks."""
    c = _columns(candidates)
    by_weight, cumulative = c.by_weight(options.get("weights") or _NO_WEIGHTS)
    if cumulative[-1] > 0:
        first = by_weight[bisect.bisect(cumulative, random.random() * cumulative[-1])]
    else:
        first = random.choice(by_weight)
    order = list(by_weight)
    order.remove(first)
    order.insert(0, first)
    return order


def sticky(
    candidates: Sequence[Target],
    request: ChatRequest,
    context: RequestContext,
    health: HealthMonitor,
    options: Mapping[str, Any],
) -> list[Target]:
    """The same user (or ``metadata['conversation_id']``) keeps the same first target."""
    ordered = sorted(candidates, key=lambda t: t.id)
    key = str(context.metadata.get("conversation_id") or context.user or "")
    if not key or not ordered:
        return balanced(candidates, request, context, health, options)
    start = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % len(ordered)
    return ordered[start:] + ordered[:start]


BUILTIN_STRATEGIES: dict[str, Strategy] = {
    "cost": by_cost,
    "quality": by_quality,
    "latency": by_latency,
    "balanced": balanced,
    "weighted": weighted,
    "sticky": sticky,
}
