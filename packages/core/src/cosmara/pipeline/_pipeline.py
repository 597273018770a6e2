"""The pipeline: a request walks down the stages in order and back up once with its outcome.

    validate -> events -> ledger -> cache -> route -> spend -> [plugins] -> attempts
             <-        <-        <-       <-       <-       <-           <-  outcome

(each engine stage only when configured, except route and spend, which are always there:
budgets can be set at run time; plugins add theirs before ``attempts`` unless they name
another place). The four drivers (``run``, ``arun``,
``stream``, ``astream``) differ only in how they wait: each runs the stages' ``before`` in
order until one answers, refuses or the attempts are reached, then every entered stage's
``after`` in reverse, exactly once, whatever happened (a stream abandoned by its caller too),
and last the writes the stages queued on the call's batch (a settlement, a ledger row), in
one round trip to the state store.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from cosmara._errors import CosmaraError
from cosmara._stream import ChatChunk
from cosmara.pipeline._call import Call, Outcome
from cosmara.pipeline._send import Attempts
from cosmara.pipeline._settle import final_chunk, replay
from cosmara.pipeline._stage import Stage

__all__ = ["Pipeline"]

logger = logging.getLogger("cosmara.pipeline")


class Pipeline:
    def __init__(self, stages: Sequence[Stage], attempts: Attempts) -> None:
        self.stages = tuple(stages)
        self.attempts = attempts
        # Each stage's hooks that do something, looked up once: a stage that only plans or
        # only settles is not called the other way, and one with no async hooks of its own is
        # called directly by the async drivers instead of through Stage's awaitable wrapper.
        self._before = tuple((stage, _hook(stage, "before")) for stage in self.stages)
        self._abefore = tuple((stage, _ahook(stage, "before")) for stage in self.stages)
        self._after = tuple(_hook(stage, "after") for stage in reversed(self.stages))
        self._aafter = tuple(_ahook(stage, "after") for stage in reversed(self.stages))

    @property
    def names(self) -> list[str]:
        """The stages in order, the attempts last: what a request passes."""
        return ["validate", *(stage.name for stage in self.stages), self.attempts.name]

    # --- drivers ----------------------------------------------------------------------------
    def run(self, call: Call) -> Any:
        entered: list[Stage] = []
        try:
            outcome = self._out(call, entered) or self.attempts.run(call)
        except CosmaraError as error:
            outcome = Outcome(error=error)
        except BaseException:
            self._back(call, entered, self.attempts.abandoned(call))
            raise
        return _result(self._back(call, entered, outcome))

    async def arun(self, call: Call) -> Any:
        entered: list[Stage] = []
        try:
            outcome = await self._aout(call, entered) or await self.attempts.arun(call)
        except CosmaraError as error:
            outcome = Outcome(error=error)
        except BaseException:  # cancelled: the stages still settle (a budget's reservation)
            await self._aback(call, entered, self.attempts.abandoned(call))
            raise
        return _result(await self._aback(call, entered, outcome))

    def stream(self, call: Call) -> Iterator[ChatChunk]:
        entered: list[Stage] = []
        outcome: Outcome | None = None
        try:
            outcome = self._out(call, entered)
            if outcome is None:
                for item in self.attempts.stream(call):
                    if isinstance(item, Outcome):
                        outcome = item
                    else:
                        yield item
                assert outcome is not None
                chunks = [] if outcome.error is None else replay(outcome.response)[:-1]
            else:
                chunks = replay(outcome.response)[:-1]
        except CosmaraError as error:
            outcome = Outcome(error=error)
        except BaseException:  # the caller closed the stream, or it was interrupted
            self._back(call, entered, self.attempts.abandoned(call))
            raise
        response = _result(self._back(call, entered, outcome))
        yield from chunks
        yield final_chunk(response)

    async def astream(self, call: Call) -> AsyncIterator[ChatChunk]:
        entered: list[Stage] = []
        outcome: Outcome | None = None
        try:
            outcome = await self._aout(call, entered)
            if outcome is None:
                async for item in self.attempts.astream(call):
                    if isinstance(item, Outcome):
                        outcome = item
                    else:
                        yield item
                assert outcome is not None
                chunks = [] if outcome.error is None else replay(outcome.response)[:-1]
            else:
                chunks = replay(outcome.response)[:-1]
        except CosmaraError as error:
            outcome = Outcome(error=error)
        except BaseException:
            await self._aback(call, entered, self.attempts.abandoned(call))
            raise
        response = _result(await self._aback(call, entered, outcome))
        for chunk in chunks:
            yield chunk
        yield final_chunk(response)

    def stage(self, name: str) -> Stage:
        """The stage of that name.

        Raises:
            KeyError: no stage has that name.
        """
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    # --- the way out and the way back ---------------------------------------------------------
    def _out(self, call: Call, entered: list[Stage]) -> Outcome | None:
        for stage, before in self._before:
            entered.append(stage)
            if before is not None:
                answer = before(call)
                if answer is not None:
                    return Outcome(response=answer, served=stage.name)
        return None

    async def _aout(self, call: Call, entered: list[Stage]) -> Outcome | None:
        for stage, (before, awaited) in self._abefore:
            entered.append(stage)
            if before is not None:
                answer = await before(call) if awaited else before(call)
                if answer is not None:
                    return Outcome(response=answer, served=stage.name)
        return None

    def _back(self, call: Call, entered: list[Stage], outcome: Outcome) -> Outcome:
        # Every stage entered, latest first: the last len(entered) of the reversed hooks.
        for after in self._after[len(self._after) - len(entered) :]:
            if after is not None:
                try:
                    after(call, outcome)
                except Exception:
                    _failed(after)
        if call.writes is not None:
            try:
                call.writes.run()
            except Exception:
                _unwritten()
        return outcome

    async def _aback(self, call: Call, entered: list[Stage], outcome: Outcome) -> Outcome:
        for after, awaited in self._aafter[len(self._aafter) - len(entered) :]:
            if after is not None:
                try:
                    if awaited:
                        await after(call, outcome)
                    else:
                        after(call, outcome)
                except Exception:
                    _failed(after)
        if call.writes is not None:
            try:
                await call.writes.arun()
            except Exception:
                _unwritten()
        return outcome


def _failed(after: Callable[..., Any]) -> None:
    # The way back settles what already happened: the answer (paid for) stands, and the other
    # stages still settle. A stage that must stop a request does it on the way out.
    stage: Stage = after.__self__  # type: ignore[attr-defined]
    logger.exception("cosmara stage %r failed on the way back", stage.name)


def _hook(stage: Stage, way: str) -> Callable[..., Any] | None:
    """The stage's ``before`` or ``after`` (way), or None when it is Stage's no-op."""
    return getattr(stage, way) if getattr(type(stage), way) is not getattr(Stage, way) else None


def _ahook(stage: Stage, way: str) -> tuple[Callable[..., Any] | None, bool]:
    """What the async drivers call, and whether to await it: the stage's own ``abefore`` /
    ``aafter``, else its plain hook called directly (Stage's async wrappers only call it)."""
    if getattr(type(stage), "a" + way) is not getattr(Stage, "a" + way):
        return getattr(stage, "a" + way), True
    return _hook(stage, way), False


def _unwritten() -> None:
    # A store that fails now loses this call's settlement and ledger row, not its answer: the
    # reservation comes back when its lease ends.
    logger.exception("cosmara could not write a call's settlement and ledger row")


def _result(outcome: Outcome) -> Any:
    """What the caller gets: the answer (the one of last resort too), else the error."""
    if outcome.response is not None:
        return outcome.response
    assert outcome.error is not None
    raise outcome.error
