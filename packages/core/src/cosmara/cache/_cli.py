"""``cosmara cache clear`` and ``cosmara cache calibrate``: the cache's commands."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from cosmara._config import CosmaraConfig
from cosmara._errors import ConfigurationError
from cosmara.cache._exact import ExactCache
from cosmara.cache._keys import scope_key

__all__ = ["add_commands", "run"]


def add_commands(commands: Any) -> None:
    """Add ``cache clear`` and ``cache calibrate`` to the ``cosmara`` parser's commands."""
    cache = commands.add_parser("cache", help="clear the cache; calibrate a semantic threshold")
    actions = cache.add_subparsers(dest="action", required=True)
    clear = actions.add_parser("clear", help="drop cached answers from the configured store")
    clear.add_argument("--namespace", help="only this namespace (default: every one)")
    clear.add_argument(
        "--scope",
        help="only this scope and those within it: global, org:NAME, "
        "org:NAME/team:NAME or org:NAME/team:NAME/user:NAME",
    )
    clear.add_argument("--config", help="path of a cosmara.toml (default: $COSMARA_CONFIG)")
    calibrate = actions.add_parser(
        "calibrate", help="the lowest similarity threshold under a false-hit rate"
    )
    calibrate.add_argument("pairs", help='a JSON-lines file of {"a", "b", "same"} pairs')
    calibrate.add_argument("--max-false-hit", type=float, default=0.01, metavar="RATE")
    calibrate.add_argument(
        "--embedder", default="local", help="local, a provider/model, or a plugin's embedder"
    )
    calibrate.add_argument("--verifier", default="builtin", help="builtin, none or a plugin's")
    calibrate.add_argument("--config", help="path of a cosmara.toml (providers, plugins)")


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Raises:
    CosmaraError: a bad configuration, scope, namespace or pairs file; a failing store."""
    if args.action == "clear":
        return _clear(args.namespace, args.scope, args.config, out)
    return _calibrate(
        args.pairs, args.max_false_hit, args.embedder, args.verifier, args.config, out
    )


def _clear(namespace: str | None, scope: str | None, path: str | None, out: TextIO) -> int:
    from cosmara.state import open_store

    config = CosmaraConfig.load(path)
    settings = config.cache.namespaces
    if namespace is not None and namespace not in settings:
        known = ", ".join(sorted(settings))
        raise ConfigurationError(f"no cache namespace {namespace!r} in the configuration: {known}")
    prefix = None if scope is None else scope_key(scope)
    state = config.state
    if state.backend == "memory":
        raise ConfigurationError(
            "the cache is in memory ([state] backend 'memory'): it lives inside each process "
            "and there is nothing to clear from here; clear it with client.cache.clear()"
        )
    names = [namespace] if namespace is not None else list(settings)
    with open_store(state) as store:
        dropped = sum(ExactCache(name, settings[name], store).clear(prefix) for name in names)
    where = f"the SQLite store {state.path}" if state.backend == "sqlite" else "the Redis store"
    what = f"namespace {namespace}" if namespace else f"{len(names)} namespace(s)"
    within = "" if scope is None else f", scope {scope}"
    out.write(f"cleared {dropped} cached answer(s) from {what}{within} in {where}\n")
    return 0


def _calibrate(
    pairs: str,
    max_false_hit: float,
    embedder_name: str,
    verifier_name: str,
    path: str | None,
    out: TextIO,
) -> int:
    from cosmara._engine import Cosmara
    from cosmara.cache._embedders import embedder_named, verifier_named
    from cosmara.semantic import calibrate, load_pairs

    try:
        labelled = load_pairs(pairs)
    except OSError as error:
        raise ConfigurationError(f"cannot read {pairs}: {error.strerror}") from None
    with Cosmara(path) as client:  # an engine embedding model or a plugin's may need it
        plugins = client.plugins
        embedder = embedder_named(embedder_name, client, plugins.embedders())
        verifier = verifier_named(verifier_name, plugins.verifiers())
        result = calibrate(labelled, embedder, verifier, max_false_hit)
    out.write(result.render() + "\n")
    out.write(f"\n[cache.namespaces.NAME]\nthreshold = {result.threshold:.3f}\n")
    return 0
