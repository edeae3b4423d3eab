"""The three stage endpoints, parsed without FastAPI's general parameter solver (the hot path).

A submission's route reads exactly what its endpoint's signature declares: the token (through
the same security dependency), the precinct id, the ``Idempotency-Key`` and ``If-Match``
headers and the JSON body (duplicate keys refused), each checked by the same annotated pydantic
types, and refuses what they refuse with the same 422 problem. The OpenAPI schema still comes
from the signature. Profiled, FastAPI's general solver cost about a third of a submission's
time; submissions are what caucus night is made of (issue 14's throughput targets).
"""

from __future__ import annotations

import json
import typing
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError

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


class SubmissionRoute(APIRoute):
    """An APIRoute whose handler parses the stage endpoints' few parameters directly."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
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
