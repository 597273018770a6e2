"""What an answer carries once it is settled: its cost and the engine's account of the call
(``resp.cosmara``); a whole answer as a stream; the answer of last resort."""

from __future__ import annotations

import time
from typing import Any

from cosmara._attempts import AttemptLoop
from cosmara._catalog import Catalog
from cosmara._cost import cost_of_usage
from cosmara._embeddings import EmbeddingResponse
from cosmara._errors import ProviderError
from cosmara._messages import AssistantMessage, ChatRequest
from cosmara._meta import CosmaraMeta
from cosmara._response import ChatResponse, Choice, Usage
from cosmara._routing import Target
from cosmara._stream import ChatChunk, ChunkChoice, Delta, FunctionDelta, ToolCallDelta
from cosmara._tokens import TokenCounter
from cosmara.pipeline._call import Call

__all__ = ["Settle", "final_chunk", "replay"]


class Settle:
    def __init__(self, catalog: Catalog, tokens: TokenCounter) -> None:
        self._catalog = catalog
        self._tokens = tokens

    def answer(self, call: Call, loop: AttemptLoop, target: Target, response: Any) -> Any:
        """The provider's answer with its cost and ``cosmara`` metadata."""
        usage = response.usage
        if isinstance(response, EmbeddingResponse) and usage is not None:
            usage = Usage(prompt_tokens=usage.prompt_tokens, total_tokens=usage.total_tokens)
        response.cosmara = self.meta(call, loop, target, usage, response.model)
        return response

    def meta(
        self, call: Call, loop: AttemptLoop, target: Target, usage: Usage | None, served: str
    ) -> CosmaraMeta:
        info = target.info or self._catalog.price_entry(
            target.provider.catalog_names, target.model, served
        )
        assert call.plan is not None
        return CosmaraMeta(
            provider=target.provider.name,
            model=target.model,
            cost_usd=cost_of_usage(info, usage) if info is not None and usage is not None else None,
            latency_ms=round(loop.latency_ms, 3),
            attempts=loop.attempts,
            route=call.plan.route,
            context=call.context,
        )

    def interrupted(
        self, call: Call, target: Target, text: str, usage: Usage | None, error: ProviderError
    ) -> ProviderError:
        """A stream that failed after content reached the caller: the error carries the text
        they have and what it cost."""
        error.partial_text = text
        error.usage, error.cost_usd = self.so_far(call, target, text, usage)
        return error

    def so_far(
        self, call: Call, target: Target, text: str, usage: Usage | None
    ) -> tuple[Usage, float | None]:
        """What a stream that stopped early cost: the provider's usage if it sent one, else
        an estimate (the prompt, and the text streamed so far)."""
        if usage is None:
            request = call.request
            prompt = self._tokens.count_messages(request.messages, request.tools)
            completion = self._tokens.count_text(text)
            usage = Usage(
                prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
            )
        return usage, cost_of_usage(target.info, usage) if target.info else None

    def last_resort(self, call: Call, loop: AttemptLoop, error: ProviderError) -> ChatResponse:
        """The configured default answer once every target failed, or the error itself."""
        if call.fallback_message is None or not isinstance(call.request, ChatRequest):
            raise error
        response = ChatResponse(
            id=f"cosmara-fallback-{int(time.time() * 1000)}",
            created=int(time.time()),
            model="fallback_message",
            choices=[
                Choice(
                    message=AssistantMessage(content=call.fallback_message), finish_reason="stop"
                )
            ],
            usage=Usage(),
        )
        assert call.plan is not None
        response.cosmara = CosmaraMeta(
            provider="cosmara",
            model="fallback_message",
            cost_usd=0.0,
            latency_ms=round(loop.latency_ms, 3),
            attempts=loop.attempts,
            route=call.plan.route,
            context=call.context,
        )
        return response


def final_chunk(response: ChatResponse) -> ChatChunk:
    """A stream's last chunk: no choices, the usage and the ``cosmara`` metadata."""
    return ChatChunk(
        id=response.id,
        created=response.created,
        model=response.model,
        choices=[],
        usage=response.usage,
        system_fingerprint=response.system_fingerprint,
        cosmara=response.cosmara,
    )


def replay(response: ChatResponse) -> list[ChatChunk]:
    """A whole answer as the stream that would have brought it: per choice its role and
    content (reasoning, refusal and tool calls too), then its finish; then the final chunk."""
    ident, created, model = response.id, response.created, response.model

    def chunk(choice: ChunkChoice) -> ChatChunk:
        return ChatChunk(
            id=ident,
            created=created,
            model=model,
            choices=[choice],
            system_fingerprint=response.system_fingerprint,
        )

    chunks = []
    for choice in response.choices:
        message = choice.message
        extra = dict(message.model_extra or {})
        delta = Delta(
            role="assistant",
            content=response_text(message),
            reasoning_content=message.reasoning_content,
            refusal=message.refusal,
            tool_calls=[
                ToolCallDelta(
                    index=position,
                    id=call.id,
                    type="function",
                    function=FunctionDelta(
                        name=call.function.name, arguments=call.function.arguments
                    ),
                    **(call.model_extra or {}),
                )
                for position, call in enumerate(message.tool_calls or ())
            ]
            or None,
            **extra,
        )
        chunks.append(chunk(ChunkChoice(index=choice.index, delta=delta)))
        finish = ChunkChoice(index=choice.index, delta=Delta(), finish_reason=choice.finish_reason)
        chunks.append(chunk(finish))
    chunks.append(final_chunk(response))
    return chunks


def response_text(message: AssistantMessage) -> str | None:
    content = message.content
    if content is None or isinstance(content, str):
        return content
    return "".join(part.text for part in content)
