"""Every error leaves the service as a problem document (``application/problem+json``)."""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from reporting.models import Problem

PROBLEM_JSON = "application/problem+json"


class ApiError(Exception):
    """An expected refusal: its status, stable ``type`` code and problem fields."""

    def __init__(
        self,
        status: int,
        type: str,
        title: str,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: object,
    ) -> None:
        super().__init__(title)
        self.problem = Problem(type=type, title=title, status=status, detail=detail, **extra)
        self.headers = headers


def storage_unavailable(error: Exception) -> ApiError:
    """503 while the database cannot be reached: the client should retry."""
    return ApiError(
        503, "storage-unavailable", "Storage unavailable", str(error), headers={"Retry-After": "2"}
    )


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


async def api_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    return problem_response(error.problem, error.headers)


async def invalid_request(_: Request, error: Exception) -> JSONResponse:
    """Strict parsing: unknown fields, wrong types, malformed JSON → 422 listing each error."""
    assert isinstance(error, RequestValidationError)
    errors = [
        {
            "loc": [str(p) for p in e.get("loc", ())],
            "msg": f"{e.get('msg', '')}: {e['ctx']['error']}"
            if "error" in e.get("ctx", {})
            else e.get("msg", ""),
            "type": e["type"],
        }
        for e in error.errors()
    ]
    return problem_response(
        Problem(
            type="invalid-request",
            title="The request does not match the API schema",
            status=422,
            errors=errors,
        )
    )


async def http_error(request: Request, error: Exception) -> JSONResponse:
    """Framework refusals (unparseable body, unknown route, wrong method) in the same shape."""
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 400:  # the body could not be parsed at all: as strict as a bad field
        return problem_response(
            Problem(
                type="invalid-request",
                title="The request does not match the API schema",
                status=422,
                detail=str(error.detail),
            )
        )
    title = str(error.detail) if error.detail else "HTTP error"
    slug = title.lower().replace(" ", "-")
    headers = dict(error.headers) if error.headers else {}
    if error.status_code == 405:  # every method of the path, not only the first route's
        headers["Allow"] = ", ".join(
            sorted(
                {
                    method
                    for route in request.app.router.routes
                    if isinstance(route, Route) and route.matches(request.scope)[0] != Match.NONE
                    for method in route.methods or ()
                }
            )
        )
    return problem_response(
        Problem(type=slug, title=title, status=error.status_code), headers or None
    )


def problem(description: str) -> dict:
    """An error response in the OpenAPI schema: a problem document, described."""
    return {
        "model": Problem,
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


PROBLEM_RESPONSES: dict[int | str, dict] = {
    status: problem(description)
    for status, description in {
        401: "Missing, invalid, expired or revoked credentials",
        408: "The request body did not arrive in time",
        413: "Body too large",
        422: "Invalid request, or a result that breaks the caucus rules",
        429: "Rate limit: retry after Retry-After seconds",
        503: "Service unavailable (storage down, too busy, or a rehearsal fault)",
    }.items()
}
"""Error responses every API operation may give."""
