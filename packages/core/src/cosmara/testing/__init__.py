"""Test helpers shipped with Cosmara.

``Emulator`` is a local, OpenAI-shaped LLM provider server for offline tests, demos and
benchmarks; ``Fault`` describes a misbehaviour it should apply; ``RecordedRequest`` is one
request it received. ``FakeClock`` lets breaker cooldowns, retry waits and time-of-day rules
be tested without sleeping.
"""

from cosmara.testing._clock import FakeClock
from cosmara.testing._emulator import Emulator, Fault, RecordedRequest

__all__ = ["Emulator", "FakeClock", "Fault", "RecordedRequest"]
