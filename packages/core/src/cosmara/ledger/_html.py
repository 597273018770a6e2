"""A ``UsageReport`` as one self-contained HTML page: inline CSS and inline SVG, no script and
nothing fetched (its Content-Security-Policy forbids both), so it opens anywhere, offline, and
a hostile team name can only ever be text. Every value from the ledger goes through ``_e``."""

from __future__ import annotations

import html
from datetime import datetime

from cosmara.ledger._report import OTHER, SAVED_KINDS, BudgetUse, Series, UsageReport, label, money

__all__ = ["render_html"]

_PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7")
_OTHER_COLOUR = "#a0a0a0"
_SAVED_COLOURS = {"cache": "#59a14f", "downgrade": "#f28e2b", "routing": "#4e79a7"}
_STATE_COLOURS = {"ok": "#59a14f", "warn": "#f28e2b", "over": "#e15759"}
_BUDGETS_SHOWN = 25  # instances per budget
_WIDTH = 1100  # SVG user units; the page scales them to its width

_CSS = """
:root { color-scheme: light; --ink: #1d2330; --muted: #5b6475; --line: #e3e6ec; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); background: #f6f7f9; }
main { max-width: 1180px; margin: 0 auto; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 0 0 12px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 16px 20px; margin: 16px 0; }
.meta, .note { color: var(--muted); margin: 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(122px, 1fr)); gap: 12px;
  background: none; border: 0; padding: 0; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card b { display: block; font-size: 20px; font-variant-numeric: tabular-nums; }
.card span { color: var(--muted); }
svg { display: block; width: 100%; height: auto; }
svg text { font: 12px system-ui, sans-serif; fill: var(--muted); }
svg .value { fill: var(--ink); }
.legend { list-style: none; padding: 0; margin: 8px 0 0; display: flex; flex-wrap: wrap;
  gap: 4px 16px; }
.legend i { display: inline-block; width: 11px; height: 11px; border-radius: 2px;
  margin-right: 6px; vertical-align: -1px; }
table { border-collapse: collapse; width: 100%; font-size: 13px;
  font-variant-numeric: tabular-nums; }
th, td { padding: 6px 8px; border-bottom: 1px solid var(--line); text-align: left;
  white-space: nowrap; }
th { color: var(--muted); font-weight: 600; }
td.n, th.n { text-align: right; }
tfoot td { font-weight: 600; border-top: 2px solid var(--line); }
.scroll { overflow-x: auto; }
em { color: var(--muted); }
.budget { margin: 12px 0 2px; overflow-wrap: anywhere; }
"""


def render_html(report: UsageReport) -> str:
    """The page for ``report``."""
    title = "Cosmara usage report"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        # Nothing may load or run: a name that got past escaping still could not act.
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title><style>{_CSS}</style></head><body><main>",
        f"<header><h1>Usage</h1><p class=meta>{_e(report.describe())}</p>",
        f"<p class=meta>Generated {_e(_time(report.generated))}</p></header>",
        _cards(report),
        _spend("team", report.spend_by_team),
        _spend("model", report.spend_by_model),
        _savings(report),
        _budgets(report.budgets),
        _groups(report),
        "</main></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _e(value: object) -> str:
    """Text from the ledger, escaped for both HTML text and attribute values."""
    return html.escape(label(value) if isinstance(value, str) or value is None else str(value))


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()


def _cards(report: UsageReport) -> str:
    total = report.total
    cards = [
        ("requests", f"{total.requests:,}"),
        ("cost", money(total.cost_usd)),
        ("saved", money(total.saved_usd)),
        ("tokens in", f"{total.input_tokens:,}"),
        ("tokens out", f"{total.output_tokens:,}"),
        ("answered from cache", f"{total.cached:,}"),
        ("errors", f"{total.errors:,}"),
        ("blocked", f"{total.blocked:,}"),
    ]
    inner = "".join(
        f"<div class=card><b>{value}</b><span>{name}</span></div>" for name, value in cards
    )
    return f'<section class=cards aria-label="totals">{inner}</section>'


def _spend(what: str, series: Series) -> str:
    heading = f"<h2>Spend per {series.unit} by {what}</h2>"
    if not series.names:
        return f"<section>{heading}<p class=note>Nothing was spent in this report.</p></section>"
    colours = {
        name: _OTHER_COLOUR if name == OTHER else _PALETTE[n % len(_PALETTE)]
        for n, name in enumerate(series.names)
    }
    height, left, bottom, top = 300, 80, 40, 12
    plot_w, plot_h = _WIDTH - left - 10, height - bottom - top
    totals = series.totals()
    scale, ticks = _axis(max(totals))
    step = plot_w / len(series.periods)
    bar = max(step * 0.72, 1.0)
    svg = [
        f'<svg viewBox="0 0 {_WIDTH} {height}" role="img" '
        f'aria-label="spend per {series.unit} by {what}">'
    ]
    for tick in ticks:
        y = top + plot_h - tick / scale * plot_h
        svg.append(
            f'<line x1="{left}" x2="{_WIDTH - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e6ec"/>'
            f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{money(tick)}</text>'
        )
    every = max(1, round(len(series.periods) / 12))  # at most about a dozen labels
    for n, period in enumerate(series.periods):
        x = left + n * step + (step - bar) / 2
        base = float(top + plot_h)
        for name in series.names:
            spent = series.spend[name][n]
            if spent <= 0:
                continue
            tall = spent / scale * plot_h
            base -= tall
            svg.append(
                f'<rect x="{x:.2f}" y="{base:.2f}" width="{bar:.2f}" height="{tall:.2f}" '
                f'fill="{colours[name]}"><title>{_e(name)}, {_e(period)}: {money(spent)}'
                "</title></rect>"
            )
        if n % every == 0:
            svg.append(
                f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 18}" text-anchor="middle">'
                f"{_e(_short(period, series.unit))}</text>"
            )
    svg.append("</svg>")
    legend = "".join(
        f'<li><i style="background:{colours[name]}"></i>{_e(name)} '
        f"<em>{money(sum(series.spend[name]))}</em></li>"
        for name in series.names
    )
    return f"<section>{heading}{''.join(svg)}<ul class=legend>{legend}</ul></section>"


def _savings(report: UsageReport) -> str:
    saved = report.saved_by
    total = report.total
    would_have = total.cost_usd + total.saved_usd
    share = f"{100 * total.saved_usd / would_have:.1f}%" if would_have else "0%"
    note = (
        f"<p class=note>Saved {money(total.saved_usd)} of the {money(would_have)} these "
        f"requests would have cost ({share}).</p>"
    )
    top, row_h, left = 6, 34, 110
    height = top + row_h * len(saved)
    widest = max(saved.values()) or 1.0
    svg = [f'<svg viewBox="0 0 {_WIDTH} {height}" role="img" aria-label="savings by kind">']
    for n, (kind, value) in enumerate(saved.items()):
        y = top + n * row_h
        length = value / widest * (_WIDTH - left - 180)
        svg.append(
            f'<text x="{left - 10}" y="{y + 17}" text-anchor="end">{kind}</text>'
            f'<rect x="{left}" y="{y + 4}" width="{length:.2f}" height="18" rx="2" '
            f'fill="{_SAVED_COLOURS[kind]}"><title>{kind}: {money(value)}</title></rect>'
            f'<text class=value x="{left + length + 8:.2f}" y="{y + 17}">{money(value)}</text>'
        )
    svg.append("</svg>")
    assert set(saved) == set(SAVED_KINDS)
    return f"<section><h2>Savings by kind</h2>{note}{''.join(svg)}</section>"


def _budgets(uses: list[BudgetUse]) -> str:
    if not uses:
        return ""
    shown: dict[str, int] = {}
    bars = []
    for use in uses:
        shown[use.status.name] = shown.get(use.status.name, 0) + 1
        if shown[use.status.name] <= _BUDGETS_SHOWN:
            bars.append(_budget_bar(use))
    hidden = sum(max(count - _BUDGETS_SHOWN, 0) for count in shown.values())
    more = f"<p class=note>{hidden} more budget instances not shown.</p>" if hidden else ""
    note = (
        "<p class=note>This period, as it stands now: spent (solid) and held by requests in "
        "flight (light) against the amount; marks at each threshold.</p>"
    )
    return f"<section><h2>Budgets</h2>{note}{''.join(bars)}{more}</section>"


def _budget_bar(use: BudgetUse) -> str:
    status = use.status
    height, left, track = 26, 10, _WIDTH - 20
    # The track runs to 120 % (further when spent past it); a threshold beyond is named in
    # the caption rather than stretching every bar to a 1000 % block.
    full = max(120.0, status.percent * 1.05)
    spent = status.spent_usd / status.amount_usd * 100
    held = status.reserved_usd / status.amount_usd * 100
    colour = _STATE_COLOURS[use.state]

    def x(percent: float) -> float:
        return left + min(percent, full) / full * track

    resets = "never resets" if status.resets_at is None else f"resets {_time(status.resets_at)}"
    caption = (
        f"<b>{_e(status.name)}</b> "
        f"{_e(status.level)} {_e(status.value)}, {_e(status.period)}: "
        f"{money(status.spent_usd)} spent + {money(status.reserved_usd)} held of "
        f"{money(status.amount_usd)} ({status.percent:.1f}%), {_e(resets)}; "
        + ", ".join(f"{action} at {at:g}%" for at, action in use.thresholds)
    )
    svg = [
        f"<p class=budget>{caption}</p>",
        f'<svg viewBox="0 0 {_WIDTH} {height}" role="img" aria-label="budget">',
        f'<rect x="{left}" y="6" width="{track}" height="14" rx="2" fill="#eef0f4"/>',
        f'<rect x="{left}" y="6" width="{x(spent) - left:.2f}" height="14" rx="2" '
        f'fill="{colour}"><title>spent {money(status.spent_usd)}</title></rect>',
        f'<rect x="{x(spent):.2f}" y="6" width="{x(spent + held) - x(spent):.2f}" height="14" '
        f'fill="{colour}" fill-opacity="0.35"><title>held {money(status.reserved_usd)}</title>'
        "</rect>",
    ]
    for at, action in use.thresholds:
        if at > full:
            continue
        svg.append(
            f'<line x1="{x(at):.2f}" x2="{x(at):.2f}" y1="2" y2="24" stroke="#1d2330" '
            f'stroke-width="1.5"><title>{at:g}%: {_e(action)}</title></line>'
        )
    svg.append(f'<line x1="{x(100):.2f}" x2="{x(100):.2f}" y1="4" y2="22" stroke="#5b6475"/>')
    svg.append("</svg>")
    return "".join(svg)


def _groups(report: UsageReport) -> str:
    columns = report.columns()
    heads = "".join(f"<th>{_e(name)}</th>" for name in report.by)
    heads += "".join(f"<th class=n>{_e(heading)}</th>" for heading, _ in columns)
    rows = []
    for summary in report.groups:
        cells = "".join(_group_cell(summary.group[name]) for name in report.by)
        cells += "".join(f"<td class=n>{show(summary)}</td>" for _, show in columns)
        rows.append(f"<tr>{cells}</tr>")
    names = "".join(f"<td>{'total' if n == 0 else ''}</td>" for n in range(len(report.by)))
    footer = names + "".join(f"<td class=n>{show(report.total)}</td>" for _, show in columns)
    body = "".join(rows) or (
        f'<tr><td colspan="{len(report.by) + len(columns)}"><em>No requests.</em></td></tr>'
    )
    table = (
        f"<table><thead><tr>{heads}</tr></thead><tbody>{body}</tbody>"
        f"<tfoot><tr>{footer}</tr></tfoot></table>"
    )
    title = f"By {_e(', '.join(report.by) or 'nothing')}"
    return f"<section><h2>{title}</h2><div class=scroll>{table}</div></section>"


def _group_cell(value: str | None) -> str:
    return "<td><em>(none)</em></td>" if value is None else f"<td>{_e(value)}</td>"


def _short(period: str, unit: str) -> str:
    """An axis label: ``12-07`` for a day or week, ``2026-12`` for a month."""
    return period if unit == "month" else period[5:]


def _axis(highest: float) -> tuple[float, list[float]]:
    """A round top for the axis at or above ``highest``, and four or five ticks up to it."""
    if highest <= 0:
        return 1.0, [0.0]
    magnitude = 10 ** _floor_log10(highest)
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * magnitude / 4
        if step * 4 >= highest:
            return step * 4, [step * n for n in range(5)]
    raise AssertionError("unreachable: 10 x magnitude is above highest")


def _floor_log10(value: float) -> int:
    import math

    return math.floor(math.log10(value))
