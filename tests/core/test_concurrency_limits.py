"""Per-provider concurrency: a provider's max_connections bounds its requests in flight, the
rest fail over after the pool timeout, and other providers are never held up by it."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import cosmara
from cosmara import Cosmara
from cosmara.testing import Emulator, Fault

HI = [{"role": "user", "content": "hi"}]
LIMIT = 2
SLOW_SECONDS = 0.6


def _client(emulator: Emulator) -> Cosmara:
    providers = {
        "slow": {"type": "openai_compatible", "base_url": emulator.base_url},
        "steady": {"type": "openai_compatible", "base_url": emulator.base_url},
    }
    providers["slow"]["max_connections"] = LIMIT
    # The default retry policy: a full pool is not retried (it already waited), it fails over.
    return Cosmara({"providers": providers}, load_entry_points=False)


def _call(**extra: Any) -> dict[str, Any]:
    return {
        "model": "slow/slow-model",
        "messages": HI,
        "fallbacks": ["steady/steady-model"],
        "timeout": {"request": 5, "pool": 0.1},
        **extra,
    }


def _check(responses: list[cosmara.ChatResponse], emulator: Emulator, client: Cosmara) -> None:
    served = [r.cosmara.provider for r in responses if r.cosmara]
    assert served.count("slow") == LIMIT
    assert served.count("steady") == len(responses) - LIMIT
    for response in responses:
        assert response.cosmara is not None
        if response.cosmara.provider == "steady":
            waited, answered = response.cosmara.attempts
            assert (waited.provider, waited.error) == ("slow", "ProviderUnavailableError")
            assert waited.code == "pool_exhausted"
            assert "stayed busy" in (waited.message or "")
            assert answered.error is None
    # The queued requests never reached the slow provider, and do not count against it.
    assert sum(r.json.get("model") == "slow-model" for r in emulator.requests) == LIMIT
    assert client.health()["slow/slow-model"].failures == 0


async def test_async_requests_over_the_limit_fail_over(emulator: Emulator) -> None:
    emulator.add_fault(Fault(delay=SLOW_SECONDS, match_model="slow-model"))
    async with _client(emulator) as client:
        responses = await asyncio.gather(*(client.achat(**_call()) for _ in range(6)))
        _check(list(responses), emulator, client)


def test_threads_over_the_limit_fail_over(emulator: Emulator) -> None:
    emulator.add_fault(Fault(delay=SLOW_SECONDS, match_model="slow-model"))
    with _client(emulator) as client, ThreadPoolExecutor(6) as pool:
        responses = list(pool.map(lambda _: client.chat(**_call()), range(6)))
        _check(responses, emulator, client)


async def test_a_saturated_provider_does_not_hold_up_another(emulator: Emulator) -> None:
    emulator.add_fault(Fault(delay=SLOW_SECONDS, match_model="slow-model"))
    async with _client(emulator) as client:
        busy = [
            asyncio.ensure_future(client.achat(**_call(fallbacks=None, timeout=5)))
            for _ in range(LIMIT * 2)
        ]
        await asyncio.sleep(0.05)  # the slow provider's connections are all taken now
        other = await client.achat(model="steady/steady-model", messages=HI)
        # Answered while every slow request (half of them still queued) is unfinished.
        assert not any(request.done() for request in busy)
        await asyncio.gather(*busy)
    assert other.cosmara is not None
    assert other.cosmara.provider == "steady"
