"""Stage one, validate: the caller's arguments become a ``Call``, or a typed error that names
the field, before anything is announced or sent."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, TypeVar

from pydantic import ValidationError

from cosmara._config import CosmaraConfig
from cosmara._context import RequestContext
from cosmara._embeddings import EmbeddingRequest
from cosmara._errors import RequestValidationError
from cosmara._headers import checked_headers
from cosmara._messages import ChatRequest
from cosmara._retry import MAX_RETRIES, RetryPolicy
from cosmara._timeouts import Timeouts
from cosmara.pipeline._call import Call

__all__ = ["CACHE_OPTIONS", "Validate"]

# The cache stage's per-call options: taken out of every call, so a client without a cache
# (or with it turned off) ignores them instead of sending them on to a provider.
CACHE_OPTIONS = frozenset({"cache", "no_store", "cache_ttl", "cache_namespace"})

_Request = TypeVar("_Request", ChatRequest, EmbeddingRequest)
_CONTEXT_KEYS = ("org", "team", "tags", "metadata")  # ``user`` is also a request field
_CALL_OPTIONS = (
    "fallbacks",
    "timeout",
    "fallback_message",
    "max_retries",
    "extra_headers",
    "extra_query",
)


class Validate:
    """Turns ``chat(...)`` / ``embed(...)`` arguments into a ``Call``.

    ``option_names`` are the per-call options the pipeline's stages read (``cache=False``, ...):
    they go to ``call.options``, never to the provider, once ``option_checks`` (the stages'
    ``check_options``) accept them.
    """

    name = "validate"

    def __init__(
        self,
        config: CosmaraConfig,
        context: RequestContext,
        now: Callable[[], float],
        option_names: Iterable[str] = (),
        option_checks: Iterable[Callable[[Mapping[str, Any]], None]] = (),
    ) -> None:
        self._config = config
        self._context = context
        self._now = now
        self._option_names = tuple(option_names)
        self._option_checks = tuple(option_checks)
        # Every keyword that is not a request field; a call naming none of them skips their
        # checks (most calls pass only model, messages and sampling fields).
        self._call_keys = frozenset({*_CALL_OPTIONS, *_CONTEXT_KEYS, "user", *self._option_names})

    def call(
        self,
        request_type: type[_Request],
        request: _Request | None,
        kwargs: dict[str, Any],
        *,
        stream: bool = False,
    ) -> Call:
        """Raises:
        RequestValidationError: a malformed request or option, naming the field."""
        config = self._config
        if kwargs.keys().isdisjoint(self._call_keys):  # request fields only: the usual call
            fallbacks: tuple[str, ...] = ()
            timeout = headers = query = None
            fallback_message, retry, options = config.fallback_message, config.retry, {}
            context = self._context
        else:
            fallbacks = _fallback_names(kwargs.pop("fallbacks", None))
            timeout = _call_timeouts(kwargs.pop("timeout", None))
            fallback_message = kwargs.pop("fallback_message", config.fallback_message)
            retry = _retry_policy(config.retry, kwargs.pop("max_retries", None))
            headers = _extra_headers(kwargs.pop("extra_headers", None))
            query = _extra_query(kwargs.pop("extra_query", None))
            options = {name: kwargs.pop(name) for name in self._option_names if name in kwargs}
            if options:
                for check in self._option_checks:
                    check(options)
            who = {key: kwargs.pop(key) for key in _CONTEXT_KEYS if key in kwargs}
            if "user" in kwargs:
                who["user"] = kwargs["user"]
            context = RequestContext.build(**who, base=self._context) if who else self._context
        if request is None:
            if kwargs.get("model") is None:
                kwargs["model"] = _default_model(config, request_type)
            if context.user is not None:
                # The caller's user id doubles as OpenAI's end-user field for abuse monitoring.
                kwargs.setdefault("user", context.user)
            request = _validated(request_type, kwargs)
        elif kwargs:
            request = _validated(request_type, {**request.model_dump(), **kwargs})
        total = (timeout or config.timeout).total
        kind: Literal["chat", "embed"] = "chat" if isinstance(request, ChatRequest) else "embed"
        return Call(
            kind=kind,
            request=request,
            context=context,
            stream=stream,
            fallbacks=fallbacks,
            timeout=timeout,
            retry=retry,
            fallback_message=fallback_message,
            headers=headers,
            query=query,
            deadline=None if total is None else self._now() + total,
            options=options,
        )


def _default_model(config: CosmaraConfig, request_type: type[_Request]) -> str:
    """The model of a request that names none: the configuration's ``default_model`` (a chat
    model, so chat requests only).

    Raises:
        RequestValidationError: there is none to use.
    """
    if request_type is ChatRequest and config.default_model:
        return config.default_model
    if request_type is ChatRequest:
        raise RequestValidationError(
            "no model: name one ('provider/model', an alias or a group such as 'auto') or set "
            "default_model in the configuration"
        )
    raise RequestValidationError("no model: name an embedding model ('provider/model')")


def _validated(request_type: type[_Request], data: dict[str, Any]) -> _Request:
    try:
        return request_type.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'request'}: {item['msg']}"
            for item in error.errors(include_url=False)
        )
        raise RequestValidationError(f"invalid {request_type.__name__}: {problems}") from None


def _fallback_names(given: Any) -> tuple[str, ...]:
    """The call's fallbacks: one model name or a list of them."""
    if given is None:
        return ()
    names = (given,) if isinstance(given, str) else given
    if not isinstance(names, (list, tuple)) or not all(
        isinstance(name, str) and name for name in names
    ):
        raise RequestValidationError("fallbacks must be a model name or a list of model names")
    return tuple(names)


def _call_timeouts(value: Any) -> Timeouts | None:
    if value is None:
        return None
    try:
        return Timeouts.coerce(value)
    except (ValueError, TypeError) as error:
        raise RequestValidationError(f"invalid timeout: {error}") from None


def _retry_policy(configured: RetryPolicy, max_retries: Any) -> RetryPolicy:
    if max_retries is None:
        return configured
    if (
        not isinstance(max_retries, int)
        or isinstance(max_retries, bool)
        or not 0 <= max_retries <= MAX_RETRIES
    ):
        raise RequestValidationError(
            f"max_retries must be an integer from 0 to {MAX_RETRIES}, not {max_retries!r}"
        )
    return configured.model_copy(update={"max_retries": max_retries})


def _extra_headers(value: Any) -> dict[str, str] | None:
    if not value:
        return None
    try:
        checked = checked_headers(value, "extra_headers")
    except ValueError as error:
        raise RequestValidationError(str(error)) from None
    return {name.lower(): text for name, text in checked.items()}


def _extra_query(value: Any) -> dict[str, str] | None:
    if not value:
        return None
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise RequestValidationError("extra_query must be a mapping of strings to strings")
    return dict(value)
