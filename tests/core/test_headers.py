"""Header checks run before every request: the quick joined check must agree with checking
the headers one by one, and a problem names the header, never its value."""

from __future__ import annotations

from typing import Any

import pytest

from cosmara._headers import checked_headers, header_problem, headers_problem

SECRET = "sk-test-distinctive-0451"


def _one_by_one(headers: dict[Any, Any]) -> str | None:
    for name, value in headers.items():
        problem = header_problem(name, value)
        if problem is not None:
            return problem
    return None


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": f"Bearer {SECRET}", "content-type": "application/json"},
        {"x-empty": "", "x-tab": "a\tb", "x-odd": "!#$%&'*+-.^_`|~"},
        {"": "value"},
        {"bad name": "value"},
        {"x-ok": "fine", "x-key": f"{SECRET}\r\nInjected: 1"},
        {"x-key": f"caf\u00e9 {SECRET}"},
        {"x-key": f"{SECRET}\x00"},
        {"x-number": 3},
        {7: "value"},
        {"x-ok": "fine", "x-none": None},
    ],
)
def test_joined_check_agrees_with_checking_each_header(headers: dict[Any, Any]) -> None:
    assert headers_problem(headers) == _one_by_one(headers)


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ({"x-ok": "fine", "x-key": f"{SECRET}\nInjected: 1"}, "'x-key'"),
        ({"x-key": f"caf\u00e9 {SECRET}"}, "'x-key'"),
        ({"bad name": SECRET}, "'bad name'"),
        ({"x-key": 12}, "'x-key'"),
    ],
)
def test_a_problem_names_the_header_and_hides_its_value(
    headers: dict[Any, Any], named: str
) -> None:
    problem = headers_problem(headers)
    assert problem is not None
    assert named in problem
    assert SECRET not in problem
    with pytest.raises(ValueError, match="extra_headers: ") as raised:
        checked_headers(headers, "extra_headers")
    assert SECRET not in str(raised.value)
