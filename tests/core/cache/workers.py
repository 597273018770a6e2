"""What the child process of test_processes.py runs: ``python -m tests.core.cache.workers
CONFIG_JSON``.

The child builds a client from the configuration (the same store as the test's), prints
``ready``, then answers one JSON line per request line on stdin (``{"text": ...,
"namespace": ...}`` -> ``{"cache": ..., "text": ..., "similarity": ...}``) until stdin closes.
"""

from __future__ import annotations

import json
import sys

from cosmara import Cosmara

MODEL = "openai/gpt-4o-mini"


def main() -> None:
    with Cosmara(json.loads(sys.argv[1]), load_entry_points=False, org="acme") as client:
        print("ready", flush=True)
        for line in sys.stdin:
            asked = json.loads(line)
            messages = [{"role": "user", "content": asked["text"]}]
            answer = client.chat(model=MODEL, messages=messages, cache_namespace=asked["namespace"])
            meta = answer.cosmara
            assert meta is not None
            found = {"cache": meta.cache, "text": answer.text, "similarity": meta.cache_similarity}
            print(json.dumps(found), flush=True)


if __name__ == "__main__":
    main()
