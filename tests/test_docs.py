"""Every ``python`` block in docs/ and the README runs: the documentation's examples stay true.

Blocks fenced as ``py`` are illustrations that need real keys and are not run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _examples() -> list[tuple[str, str]]:
    found = []
    for page in [README, *sorted(DOCS.glob("*.md"))]:
        for number, match in enumerate(BLOCK.finditer(page.read_text("utf-8")), start=1):
            found.append((f"{page.name}#{number}", match.group(1)))
    return found


EXAMPLES = _examples()


def test_docs_have_examples() -> None:
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize(("where", "code"), EXAMPLES, ids=[where for where, _ in EXAMPLES])
def test_example_runs(where: str, code: str, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(code, where, "exec"), {"__name__": "__docs__"})
    assert capsys.readouterr().out.strip(), f"{where} printed nothing"
