"""The three stage endpoints, parsed without FastAPI's general parameter solver (the hot path).

A submission's route reads exactly what its endpoint's signature declares: the token (through
the same security dependency), the precinct id, the ``Idempotency-Key`` and ``If-Match``
headers and the JSON body (duplicate keys refused), each checked by the same annotated pydantic
types, and refuses what they refuse with the same 422 problem. The OpenAPI schema still comes
from the signature. Profiled, FastAPI's general solver cost about a third of a submission's
time; submissions are what caucus night is made of (issue 14's throughput targets).

:class:`SubmissionFastPath` hands a stage's request to its route's handler without FastAPI's
nested routers (another fifth of a submission's time in the event loop), inside every
middleware of the app, and answers errors with the app's own exception handlers.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from reporting.dependencies import reporter
from reporting.limits import StrictJsonRequest

Errors = list[dict[str, Any]]


def _checked(adapter: TypeAdapter, value: object, loc: tuple[str, ...], errors: Errors) -> Any:
    """``value`` as ``adapter`` validates it; its errors (under ``loc``) added to ``errors``."""
    try:
        return adapter.validate_python(value)
    except ValidationError as error:
        errors.extend({**e, "loc": (*loc, *e["loc"])} for e in error.errors())
        return None


async def _json_body(request: StrictJsonRequest, errors: Errors) -> object:
    """The parsed JSON body, or None with the reason in ``errors``."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not (await request.body()):
        errors.append({"type": "missing", "loc": ("body",), "msg": "Field required"})
        return None
    if kind != "application/json" and not kind.endswith("+json"):
        errors.append(
            {"type": "content_type", "loc": ("body",), "msg": "Content-Type must be JSON"}
        )
        return None
    try:
        return await request.json()
    except json.JSONDecodeError as error:
        errors.append(
            {
                "type": "json_invalid",
                "loc": ("body", error.pos),
                "msg": "JSON decode error",
                "ctx": {"error": error.msg},
            }
        )
        return None


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class SubmissionRoute(APIRoute):
    """An APIRoute whose handler parses the stage endpoints' few parameters directly."""

    handler: Handler
    """The handler, for :class:`SubmissionFastPath`."""

    def get_route_handler(self) -> Handler:
        self.handler = self._handler()
        return self.handler

    def _handler(self) -> Handler:
        hints = typing.get_type_hints(self.endpoint, include_extras=True)
        adapters = {name: TypeAdapter(hints[name]) for name in ("precinct_id", "body")}
        key = TypeAdapter(hints["idempotency_key"])
        match = TypeAdapter(hints["if_match"])
        endpoint = self.endpoint

        async def handle(request: Request) -> Response:
            principal = await reporter(request)
            strict = StrictJsonRequest(request.scope, request.receive)
            errors: Errors = []
            path = ("path", "precinct_id")
            precinct_id = _checked(
                adapters["precinct_id"], request.path_params["precinct_id"], path, errors
            )
            key_loc = ("header", "Idempotency-Key")
            given_key = request.headers.get("idempotency-key")
            idempotency_key = None
            if given_key is None:
                errors.append({"type": "missing", "loc": key_loc, "msg": "Field required"})
            else:
                idempotency_key = _checked(key, given_key, key_loc, errors)
            given_match = request.headers.get("if-match")
            if_match = _checked(match, given_match, ("header", "If-Match"), errors)
            body = await _json_body(strict, errors)
            if body is not None:
                body = _checked(adapters["body"], body, ("body",), errors)
            if errors:
                raise RequestValidationError(errors)
            return await endpoint(
                precinct_id=precinct_id,
                body=body,
                idempotency_key=idempotency_key,
                principal=principal,
                request=request,
                if_match=if_match,
            )

        return handle


class SubmissionFastPath:
    """ASGI middleware: a POST to a stage's path goes straight to its route's handler.

    Only an exact match takes this path (same path pattern, POST, no ``root_path``); every
    other request goes through the app's routing as before (405, 404, redirects). The route
    is what metrics label the request by; an error is answered by the app's handler for it
    (problem documents), and one with no handler goes on to the server-error middleware, as
    routed requests do.
    """

    def __init__(self, app: ASGIApp, routes: list[SubmissionRoute]) -> None:
        self.app = app
        self._routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            for route in self._routes:
                match = route.path_regex.match(scope["path"])
                if match is not None:
                    await self._handle(route, match.groupdict(), scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _handle(
        self,
        route: SubmissionRoute,
        params: dict[str, str],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        scope["route"], scope["endpoint"] = route, route.endpoint
        scope["path_params"] = {
            name: route.param_convertors[name].convert(value) for name, value in params.items()
        }
        request = Request(scope, receive, send)
        try:
            response = await route.handler(request)
        except Exception as error:
            handler = _exception_handler(scope["app"], error)
            if handler is None:
                raise
            response = await handler(request, error)
        await response(scope, receive, send)


def _exception_handler(app: FastAPI, error: Exception) -> Callable | None:
    """The app's handler for ``error``, found as Starlette's exception middleware finds it
    (a handler for 500 or for any Exception belongs to the server-error middleware)."""
    handlers = {k: h for k, h in app.exception_handlers.items() if k not in (500, Exception)}
    if isinstance(error, HTTPException) and error.status_code in handlers:
        return handlers[error.status_code]
    return next((handlers[c] for c in type(error).__mro__ if c in handlers), None)
