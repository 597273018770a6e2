"""A ``UsageReport`` as text: drawn by ``rich`` when it is installed (``cosmara[reports]``),
else as plain aligned columns, so the command works on a bare install."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from cosmara.ledger._report import UsageReport, label, money

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["render_table"]

_BUDGETS_SHOWN = 25  # instances per budget; a per-user budget may have thousands
_BUDGET_HEADINGS = [
    "budget",
    "level",
    "value",
    "period",
    "spent",
    "reserved",
    "amount",
    "used",
    "resets",
]


@dataclass(frozen=True)
class _Table:
    title: str
    heads: list[str]
    rows: list[list[str]]
    footer: list[str] | None
    numbers_from: int  # the first right-aligned column


def render_table(
    report: UsageReport, out: TextIO, *, plain: bool = False, width: int | None = None
) -> None:
    """Write ``report`` to ``out``: the groups with a total row, savings by kind, budgets."""
    tables = [_groups(report)]
    if report.budgets:
        tables.append(_budgets(report))
    saved = ", ".join(f"{kind} {money(value)}" for kind, value in report.saved_by.items())
    lines = [
        f"Usage: {label(report.describe())}",
        f"Saved {money(report.total.saved_usd)}: {saved}",
    ]
    console = None if plain else _console(out, width)
    if console is None:
        out.write(lines[0] + "\n\n")
        for table in tables:
            out.write(_plain(table) + "\n")
        out.write(lines[1] + "\n")
        return
    from rich.text import Text

    console.print(Text(lines[0], style="bold"))
    for table in tables:
        console.print(_rich(table))
    console.print(Text(lines[1]))


def _groups(report: UsageReport) -> _Table:
    columns = report.columns()
    heads = [*report.by, *(heading for heading, _ in columns)]
    rows = [
        [
            *(label(summary.group[name]) for name in report.by),
            *(show(summary) for _, show in columns),
        ]
        for summary in report.groups
    ]
    names = ["total", *([""] * (len(report.by) - 1))] if report.by else []
    footer = [*names, *(show(report.total) for _, show in columns)]
    title = "By " + (", ".join(report.by) or "nothing")
    return _Table(title, heads, rows, footer, numbers_from=len(report.by))


def _budgets(report: UsageReport) -> _Table:
    rows: list[list[str]] = []
    shown: dict[str, int] = {}
    for use in report.budgets:
        status = use.status
        shown[status.name] = shown.get(status.name, 0) + 1
        if shown[status.name] > _BUDGETS_SHOWN:
            continue
        resets = "never" if status.resets_at is None else status.resets_at.strftime("%Y-%m-%d")
        rows.append(
            [
                label(status.name),
                status.level,
                label(status.value),
                status.period,
                money(status.spent_usd),
                money(status.reserved_usd),
                money(status.amount_usd),
                f"{status.percent:.1f}%",
                resets,
            ]
        )
    hidden = sum(max(count - _BUDGETS_SHOWN, 0) for count in shown.values())
    title = "Budgets (this period, now)" + (f"; {hidden} more not shown" if hidden else "")
    return _Table(title, _BUDGET_HEADINGS, rows, None, numbers_from=4)


def _plain(table: _Table) -> str:
    heads, rows, footer, numbers_from = table.heads, table.rows, table.footer, table.numbers_from
    everything = [heads, *rows, *([footer] if footer else [])]
    widths = [max(len(line[n]) for line in everything) for n in range(len(heads))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.rjust(width) if n >= numbers_from else cell.ljust(width)
            for n, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    text = [table.title, line(heads), rule, *(line(row) for row in rows)]
    if footer:
        text += [rule, line(footer)]
    return "\n".join(text) + "\n"


def _console(out: TextIO, width: int | None) -> Console | None:
    try:
        from rich.console import Console
    except ImportError:
        return None
    terminal = hasattr(out, "isatty") and out.isatty()
    # Off a terminal (a pipe, a file) rich would fold to 80 columns: give it room instead.
    return Console(file=out, width=width or (None if terminal else 10_000), highlight=False)


def _rich(table: _Table) -> object:
    from rich.table import Table as RichTable
    from rich.text import Text

    heads, rows, footer, numbers_from = table.heads, table.rows, table.footer, table.numbers_from
    # Every cell is a Text: a team named "[bold]x" is shown, never read as rich markup.
    drawn = RichTable(title=Text(table.title), title_justify="left", show_footer=footer is not None)
    for n, head in enumerate(heads):
        drawn.add_column(
            Text(head),
            footer=Text(footer[n]) if footer else "",
            justify="right" if n >= numbers_from else "left",
            no_wrap=n >= numbers_from,
        )
    for row in rows:
        drawn.add_row(*(Text(cell) for cell in row))
    return drawn
