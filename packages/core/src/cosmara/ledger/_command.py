"""``cosmara usage``: the ledger in the configured state store, filtered and grouped, as a table
in the terminal, CSV or JSON lines, and a self-contained HTML page.

The report reads the store every process writes to (``[state]``: SQLite on one machine, Redis
across machines), so it shows what every client recorded, not just this process.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from cosmara._config import CosmaraConfig
    from cosmara.ledger._ledger import Ledger
    from cosmara.ledger._row import LedgerRow

__all__ = ["add_usage_command", "run_usage"]

FILTERS = ("org", "team", "user", "model", "provider")


def add_usage_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``usage`` to the ``cosmara`` command's subparsers (``add_subparsers()``)."""
    usage = commands.add_parser(
        "usage",
        help="usage and spend from the ledger: a table, CSV / JSON lines, an HTML report",
        description="Usage and spend from the ledger in the configured state store (SQLite "
        "or Redis: what every process recorded), filtered and grouped, with totals; exported "
        "as CSV or JSON lines; as a self-contained HTML report with charts.",
    )
    usage.add_argument("--config", help="path of a cosmara.toml (default: $COSMARA_CONFIG)")
    usage.add_argument(
        "--since", type=_moment, help="from this date (YYYY-MM-DD) or ISO time, inclusive"
    )
    usage.add_argument(
        "--until", type=_moment, help="to this date, included in full, or before this ISO time"
    )
    usage.add_argument(
        "--by",
        type=_names,
        default=("team",),
        metavar="A,B",
        help="group by: org, team, user, key, model, provider, requested_model, outcome, kind, "
        "day, week, month, tag:NAME (default: team)",
    )
    for name in FILTERS:
        extra = " (its name, or provider/model)" if name == "model" else ""
        usage.add_argument(f"--{name}", help=f"only this {name}{extra}")
    usage.add_argument(
        "--tag",
        type=_tag,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="only requests with this tag (repeatable: every one must match)",
    )
    export = usage.add_mutually_exclusive_group()
    export.add_argument("--csv", metavar="FILE", help="write the rows as CSV ('-': stdout)")
    export.add_argument(
        "--jsonl", metavar="FILE", help="write the rows as JSON lines ('-': stdout)"
    )
    usage.add_argument("--html", metavar="FILE", help="write a self-contained HTML report")
    usage.add_argument(
        "--timezone",
        type=_zone,
        help="where days begin (default: [budget] timezone, else UTC), e.g. Europe/Paris",
    )
    usage.add_argument("--plain", action="store_true", help="plain text even if rich is there")


def run_usage(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``cosmara usage`` with parsed ``args``; the table goes to ``out``, notes to stderr.

    Raises:
        ConfigurationError: the configuration is invalid, or its SQLite file is missing.
        RequestValidationError: a grouping rows do not have.
        StateStoreError: the store cannot be read.
    """
    from zoneinfo import ZoneInfo

    from cosmara._config import CosmaraConfig
    from cosmara.budgets import Budgets
    from cosmara.ledger._ledger import Ledger
    from cosmara.ledger._report import UsageReport, check, select_rows
    from cosmara.state import open_store

    config = CosmaraConfig.load(args.config)
    zone = args.timezone or ZoneInfo(config.budget.timezone)
    since = _localized(args.since, zone, end=False)
    until = _localized(args.until, zone, end=True)
    where: dict[str, str | None] = {
        name: getattr(args, name) for name in FILTERS if getattr(args, name) is not None
    }
    where.update({f"tag:{name}": value for name, value in args.tag})
    check(args.by, where)
    targets = [Path(path) for path in (args.csv, args.jsonl, args.html) if path and path != "-"]
    for target in targets:
        if not target.parent.is_dir():
            print(f"error: cannot write {target}: its folder does not exist", file=sys.stderr)
            return 1
    _check_store(config)
    with open_store(config.state) as store:
        ledger = Ledger(store)
        budgets = Budgets(config.budgets, config.budget, lambda: store, now=_now)
        rows = select_rows(ledger, since=since, until=until, **where)
        report = UsageReport.build(
            rows, by=args.by, tz=zone, since=since, until=until, filters=where, budgets=budgets
        )
    _notes(config, rows)
    to_stdout = "-" in (args.csv, args.jsonl)
    try:
        _export(ledger, rows, args, out)
        if args.html:
            Path(args.html).write_text(report.html(), encoding="utf-8")
            print(f"wrote the HTML report to {args.html}", file=sys.stderr)
    except OSError as error:
        print(f"error: cannot write: {error}", file=sys.stderr)
        return 1
    if not to_stdout:
        report.print_table(out, plain=args.plain)
    return 0


def _export(ledger: Ledger, rows: list[LedgerRow], args: argparse.Namespace, out: TextIO) -> None:
    for path, write in ((args.csv, ledger.to_csv), (args.jsonl, ledger.to_jsonl)):
        if path:
            count = write(out if path == "-" else path, rows)
            if path != "-":
                print(f"wrote {count} rows to {path}", file=sys.stderr)


def _check_store(config: CosmaraConfig) -> None:
    """A report reads a store: a SQLite path that does not exist is a mistake, not a new
    empty ledger to create."""
    state = config.state
    if state.backend == "sqlite" and state.path is not None and not state.path.exists():
        from cosmara._errors import ConfigurationError

        raise ConfigurationError(
            f"no state store at {str(state.path)!r} (state.path): nothing was recorded there"
        )


def _notes(config: CosmaraConfig, rows: list[LedgerRow]) -> None:
    if config.state.backend == "memory":
        print(
            "note: [state] backend is memory: this command sees only its own process, not what "
            "your application recorded; point [state] at SQLite or Redis",
            file=sys.stderr,
        )
    elif not rows and not config.ledger.enabled:
        print("note: [ledger] enabled is false in this configuration", file=sys.stderr)


def _now() -> datetime:
    from datetime import timezone

    return datetime.now(timezone.utc)


def _moment(text: str) -> date | datetime:
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (2026-12-01) or an ISO time (2026-12-01T09:30)"
        ) from None


def _localized(moment: date | datetime | None, zone: tzinfo, *, end: bool) -> datetime | None:
    """A date as its midnight in ``zone`` (the next one for an end: the day counts in full);
    a time without an offset as a time in ``zone``."""
    if moment is None:
        return None
    if not isinstance(moment, datetime):
        day = moment + timedelta(days=1) if end else moment
        return datetime.combine(day, time(), tzinfo=zone)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _names(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names:
        raise argparse.ArgumentTypeError("name at least one grouping: --by team,model")
    return names


def _tag(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"{text!r}: write a tag filter as NAME=VALUE")
    return name, value


def _zone(name: str) -> tzinfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(
            f"unknown time zone {name!r} (an IANA name: Europe/Paris)"
        ) from None
