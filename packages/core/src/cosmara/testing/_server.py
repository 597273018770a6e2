"""The emulator's asyncio server: thread and loop lifecycle, connections, routing, faults."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import time
from typing import Any
from urllib.parse import parse_qsl

from ._embeddings import embeddings_body
from ._http import (
    LAST_CHUNK,
    HttpError,
    HttpRequest,
    encode_chunk,
    encode_head,
    encode_response,
    read_request,
)
from ._openai import (
    RequestError,
    completion_body,
    dumps,
    error_body,
    fault_error,
    last_user_text,
    malformed_body,
    malformed_event,
    model_object,
    models_body,
    plan_completion,
    stream_events,
)
from ._state import Fault, RecordedRequest, State

__all__ = ["Server"]

_AZURE_PATH = re.compile(r"/openai/deployments/([^/]+)/(chat/completions|embeddings)")
_ROUTES = {"/v1/chat/completions": "chat", "/v1/embeddings": "embeddings", "/v1/models": "models"}
_BAD_JSON = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
    "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
    "sent was not valid JSON.)"
)
_STREAM_HEADERS = [
    ("content-type", "text/event-stream; charset=utf-8"),
    ("transfer-encoding", "chunked"),
    ("cache-control", "no-cache"),
]

Headers = list[tuple[str, str]]


def _retry_after_text(value: float | str) -> str:
    if isinstance(value, str):
        return value
    return str(int(value)) if float(value).is_integer() else str(value)


class Server:
    """Serves ``state`` on ``host:port`` from an event loop in a daemon thread."""

    def __init__(self, state: State, *, host: str, port: int) -> None:
        self._state = state
        self._host = host
        self._port = port
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._connections: dict[asyncio.Task[Any], asyncio.StreamWriter] = {}
        self._closing = False
        self.bound_port: int | None = None

    # -- lifecycle (called from the user's thread) ---------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the thread was started and not yet stopped."""
        return self._thread is not None

    def start(self) -> None:
        """Start the thread; return once the port is bound (or raise why it could not be)."""
        ready = threading.Event()
        errors: list[BaseException] = []
        self._closing = False
        thread = threading.Thread(
            target=self._run, args=(ready, errors), name="cosmara-emulator", daemon=True
        )
        thread.start()
        ready.wait()
        if errors:
            thread.join()
            raise errors[0]
        self._thread = thread

    def stop(self, timeout: float = 30.0) -> None:
        """Close every connection and the listener, end the loop and join the thread."""
        thread, loop, event = self._thread, self._loop, self._stop_event
        if thread is None:
            return
        self._thread = None
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(event.set)
        thread.join(timeout)
        self.bound_port = None
        if thread.is_alive():
            raise RuntimeError(f"the emulator thread did not stop within {timeout} seconds")

    def _run(self, ready: threading.Event, errors: list[BaseException]) -> None:
        try:
            asyncio.run(self._serve(ready))
        except BaseException as exc:  # reported by start() when it happens before ready
            if not ready.is_set():
                errors.append(exc)
        finally:
            self._loop = self._stop_event = None
            ready.set()

    async def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        server = await asyncio.start_server(self._handle, self._host, self._port, backlog=1024)
        try:
            self.bound_port = server.sockets[0].getsockname()[1]
            ready.set()
            await self._stop_event.wait()
        finally:
            self._closing = True
            server.close()
            for _ in range(4):  # let already accepted connections reach _handle and register
                await asyncio.sleep(0)
            while self._connections:
                for task, writer in list(self._connections.items()):
                    writer.transport.abort()
                    task.cancel()
                await asyncio.wait(list(self._connections))
            await server.wait_closed()

    # -- connections -----------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - always inside a task
            return
        self._connections[task] = writer
        try:
            if not self._closing:
                await self._serve_connection(reader, writer)
        except asyncio.CancelledError:
            # Only _serve cancels handlers. Ending the task normally keeps 3.11's
            # StreamReaderProtocol from logging the cancellation as an error.
            pass
        except Exception:  # OSError and friends: the client went away; bugs already got a 500
            pass
        finally:
            try:
                if self._closing:
                    writer.transport.abort()
                else:
                    writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
            finally:
                self._connections.pop(task, None)

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            try:
                request = await read_request(reader)
            except HttpError as exc:
                body = error_body(exc.message, type="invalid_request_error")
                writer.write(encode_response(exc.status, body, [], keep_alive=False))
                await writer.drain()
                return
            if request is None:
                return
            try:
                keep_alive = await self._respond(request, writer)
            except Exception as exc:  # a bug in the emulator: say so rather than hang
                if writer.transport.is_closing():
                    raise
                body = error_body(f"Emulator error: {exc!r}", type="server_error")
                writer.write(encode_response(500, body, [], keep_alive=False))
                await writer.drain()
                return
            if not keep_alive:
                return

    # -- requests --------------------------------------------------------------------------

    async def _respond(self, request: HttpRequest, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; returns whether the connection stays open."""
        data: Any = None
        bad_json = False
        if request.body:
            try:
                data = json.loads(request.body)
            except ValueError:
                bad_json = True
        path = request.path
        azure = _AZURE_PATH.fullmatch(path) if path.startswith("/openai/") else None
        model: str | None = None
        if azure is not None:
            model = azure.group(1)
        elif isinstance(data, dict) and isinstance(data.get("model"), str):
            model = data["model"]
        query = dict(parse_qsl(request.query, keep_blank_values=True)) if request.query else {}
        recorded = RecordedRequest(request.method, path, query, request.headers, data, request.body)
        generation = self._state.generation
        over_limit, fault = self._state.admit(recorded, model)
        serial = next(self._state.serials)
        headers = [("x-request-id", f"req_emu_{serial}")]
        keep = request.keep_alive
        if over_limit:
            message = f"The emulator reached its limit of {self._state.max_requests} requests."
            body = error_body(message, type="server_error", code="emulator_request_limit")
            return await self._send(writer, 503, body, headers, keep)
        streaming = isinstance(data, dict) and data.get("stream") is True
        if fault is not None:
            if fault.retry_after is not None:
                headers.append(("retry-after", _retry_after_text(fault.retry_after)))
            headers.extend(fault.headers.items())
            if fault.delay > 0:
                await asyncio.sleep(fault.delay)
            if fault.cut_after_chunks is not None and not streaming:
                writer.transport.abort()
                return False
            if fault.events is not None:
                return await self._send_stream(writer, list(fault.events), headers, keep, fault)
            if fault.status is not None or fault.body is not None:
                body = self._fault_body(fault, model, serial)
                return await self._send(writer, fault.status or 200, body, headers, keep, fault)
            if fault.malformed and not streaming:
                return await self._send(writer, 200, malformed_body(serial), headers, keep)
        try:
            return await self._route(
                request, data, bad_json, azure, model, serial, headers, fault, writer, generation
            )
        except RequestError as exc:
            return await self._send(writer, exc.status, exc.body(), headers, keep)

    def _fault_body(self, fault: Fault, model: str | None, serial: int) -> bytes:
        if fault.body is not None:
            body = fault.body
            return body if isinstance(body, bytes) else body.encode("utf-8")
        if fault.malformed:
            return malformed_body(serial)
        message, kind, code = fault_error(fault.status or 200, model)
        return error_body(
            fault.message or message, type=fault.error_type or kind, code=fault.error_code or code
        )

    async def _route(
        self,
        request: HttpRequest,
        data: Any,
        bad_json: bool,
        azure: re.Match[str] | None,
        model: str | None,
        serial: int,
        headers: Headers,
        fault: Fault | None,
        writer: asyncio.StreamWriter,
        generation: int,
    ) -> bool:
        method, path, keep = request.method, request.path, request.keep_alive
        if azure is not None:
            route = "chat" if azure.group(2) == "chat/completions" else "embeddings"
        else:
            route = _ROUTES.get(path, "model" if path.startswith("/v1/models/") else "")
        wanted = "GET" if route in ("models", "model") else "POST"
        if not route or method != wanted:
            raise RequestError(f"Invalid URL ({method} {path})", status=404)
        state = self._state
        if route == "models":
            body = models_body(state.model_prefix)
            return await self._send(writer, 200, dumps(body), headers, keep)
        if route == "model":
            body = model_object(state.reported_model(path[len("/v1/models/") :]))
            return await self._send(writer, 200, dumps(body), headers, keep)
        if bad_json:
            raise RequestError(_BAD_JSON)
        if not isinstance(data, dict):
            raise RequestError("The request body must be a JSON object.")
        if model is None:
            raise RequestError("you must provide a model parameter", param="model")
        if route == "embeddings":
            body = embeddings_body(
                data,
                model=state.reported_model(model),
                default_dimensions=state.embedding_dimensions,
            )
            return await self._send(writer, 200, dumps(body), headers, keep)

        scripted = state.pop_reply(generation, model, last_user_text(data))
        try:
            completion = plan_completion(
                data,
                model=state.reported_model(model),
                serial=serial,
                created=int(time.time()),
                reply=None if scripted is None else scripted[1],
                call_ids=state.call_ids,
            )
        except RequestError:
            if scripted is not None:
                state.give_back_reply(*scripted)
            raise
        if data.get("stream") is not True:
            answer = dumps(completion_body(completion))
            return await self._send(writer, 200, answer, headers, keep, fault)
        options = data.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        events = stream_events(completion, include_usage=include_usage)
        if fault is not None and fault.malformed:
            events.insert(1, malformed_event(serial))
        return await self._send_stream(writer, events, headers, keep, fault)

    async def _send(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        body: bytes,
        headers: Headers,
        keep: bool,
        fault: Fault | None = None,
    ) -> bool:
        response = encode_response(status, body, headers, keep_alive=keep)
        if fault is None or fault.drip <= 0:
            writer.write(response)
            await writer.drain()
            return keep
        head = len(response) - len(body)
        writer.write(response[:head])
        for start in range(head, len(response), fault.drip_size):
            await asyncio.sleep(fault.drip)
            writer.write(response[start : start + fault.drip_size])
            await writer.drain()
        return keep

    async def _send_stream(
        self,
        writer: asyncio.StreamWriter,
        events: list[bytes],
        headers: Headers,
        keep: bool,
        fault: Fault | None,
    ) -> bool:
        writer.write(encode_head(200, [*_STREAM_HEADERS, *headers], keep_alive=keep))
        await writer.drain()
        stall = fault.stall_after_chunks if fault is not None else None
        cut = fault.cut_after_chunks if fault is not None else None
        for index in range(len(events) + 1):
            if index == stall and fault is not None and fault.stall_seconds > 0:
                await asyncio.sleep(fault.stall_seconds)
            if index == cut:
                writer.transport.abort()
                return False
            if index < len(events):
                if index and fault is not None and fault.drip > 0:
                    await asyncio.sleep(fault.drip)
                writer.write(encode_chunk(events[index]))
                await writer.drain()
        if cut is not None:  # asked to cut after more events than there were
            writer.transport.abort()
            return False
        writer.write(LAST_CHUNK)
        await writer.drain()
        return keep
