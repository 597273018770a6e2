"""``/models``: the names a caller can send to this engine, as OpenAI model objects.

The list holds the catalog's models of every provider that is configured or has a key
(``provider/model``), the configured aliases and the routing groups that have candidates.
Retrieving a name asks the engine's router, so it answers for every name ``create`` accepts:
bare catalog names, aliases, groups, ``provider/model``, and any name a configured default
provider takes (an OpenAI-compatible ``base_url``).
"""

from __future__ import annotations

from typing import Any

import cosmara

__all__ = ["model_list", "model_object"]

# The engine's built-in routing groups (docs/routing.md); each is listed only if the engine
# confirms it has candidates, so a name that stops being a group simply drops out.
_BUILTIN_GROUPS = ("auto", "fast", "cheap", "best")


def model_list(engine: cosmara.Cosmara) -> dict[str, Any]:
    usable: dict[str, bool] = {}

    def has_key(provider: str) -> bool:
        if provider not in usable:
            usable[provider] = provider in engine.config.providers or (
                provider in engine.providers and engine.providers.get(provider).has_credentials
            )
        return usable[provider]

    data = [_model(info.id, info.provider) for info in engine.catalog if has_key(info.provider)]
    virtual = [*engine.config.aliases, *engine.config.groups, *_BUILTIN_GROUPS]
    for name in dict.fromkeys(virtual):
        if _routable(engine, name):
            data.append(_model(name, "cosmara"))
    return {"object": "list", "data": data}


def model_object(engine: cosmara.Cosmara, name: str) -> dict[str, Any]:
    """The model object for ``name``.

    Raises:
        cosmara.UnknownModelError: the engine cannot route ``name`` (or has no key for it).
    """
    try:
        infos = engine.candidates(name)
    except cosmara.MissingCredentialsError as error:
        raise cosmara.UnknownModelError(
            f"The model `{name}` has no usable provider: {error}"
        ) from None
    if name in engine.config.aliases or name in engine.config.groups or name in _BUILTIN_GROUPS:
        owner = "cosmara"
    else:
        owner = next((info.provider for info in infos if info is not None), None)
        owner = owner or (name.split("/", 1)[0] if "/" in name else "cosmara")
    return _model(name, owner)


def _routable(engine: cosmara.Cosmara, name: str) -> bool:
    try:
        return bool(engine.candidates(name))
    except (cosmara.UnknownModelError, cosmara.MissingCredentialsError):
        return False


def _model(model_id: str, owner: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": 0, "owned_by": owner}
