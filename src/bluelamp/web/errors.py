"""The one place that maps Bluelamp errors to HTTP: RFC 9457 problem details for the
API, one HTML error page for people."""

from __future__ import annotations

import logging
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from bluelamp import errors

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

STATUS_BY_KIND: list[tuple[type[errors.BluelampError], int]] = [
    (errors.BadRequest, 400),
    (errors.BadGateway, 502),  # data.police.uk's answer to some bad input (police-uk-api.md 1.2)
    (errors.InvalidInput, 422),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.Unauthenticated, 401),
    (errors.Denied, 403),
    (errors.TooLarge, 413),
    (errors.RateLimited, 429),
    (errors.Unavailable, 503),
    (errors.ConfigError, 500),
]

# Paths whose clients are programs: they always get problem JSON.
API_PREFIXES = ("/api/", "/ingest/", "/healthz", "/livez", "/openapi.json")


def status_for(error: errors.BluelampError) -> int:
    for kind, status in STATUS_BY_KIND:
        if isinstance(error, kind):
            return status
    return 500


def problem(
    request: Request,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    problems: list[errors.FieldProblem] | None = None,
    extra: dict | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Answer with problem details (JSON) or the error page (HTML), by who is asking."""
    body = {
        "type": f"/errors/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "code": code,
    }
    if problems:
        body["errors"] = [{"field": p.field, "message": p.message} for p in problems]
    if extra:
        body.update(extra)
    if wants_html(request):
        templates = request.app.state.templates
        return templates.TemplateResponse(request, "error.html", {"problem": body}, status_code=status, headers=headers)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def wants_html(request: Request) -> bool:
    if request.url.path.startswith(API_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


def _return_path(request: Request) -> str:
    """Where to come back to after signing in or stating a reason: this page for a plain
    GET; for a form post or an htmx request, the page the browser was on."""
    if request.method == "GET" and not request.headers.get("hx-request"):
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    page = urlsplit(request.headers.get("hx-current-url") or request.headers.get("referer", ""))
    if page.netloc == request.url.netloc and page.path:
        return page.path + (f"?{page.query}" if page.query else "")
    return "/"


def _send_person_to(request: Request, path: str) -> Response:
    """Send a person's browser to a page that will bring them back (htmx: by HX-Redirect)."""
    url = f"{path}?next={quote(_return_path(request), safe='')}"
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


async def handle_bluelamp_error(request: Request, exc: errors.BluelampError) -> Response:
    person = wants_html(request) or (
        bool(request.headers.get("hx-request")) and not request.url.path.startswith(API_PREFIXES)
    )
    if person and isinstance(exc, errors.Unauthenticated):
        return _send_person_to(request, "/sign-in")
    if person and exc.code == "access.reason_required":
        # People are asked why they need personal data, then sent back; programs get the
        # problem JSON and state the reason in the X-Bluelamp-Reason header instead.
        return _send_person_to(request, "/account/reason")
    status = status_for(exc)
    if status >= 500 and not isinstance(exc, errors.InvalidInput):  # a 502 for bad input is the client's
        log.error("%s: %s", exc.code, exc.detail)
    headers = {"Retry-After": str(exc.extra["retry_after"])} if "retry_after" in exc.extra else None
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="bluelamp"'}
    return problem(
        request,
        status=status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        problems=exc.problems,
        extra=exc.extra,
        headers=headers,
    )


async def handle_validation_error(request: Request, exc: RequestValidationError) -> Response:
    problems = []
    for item in exc.errors():
        location = [str(part) for part in item.get("loc", ()) if part not in ("body", "query", "path", "form")]
        problems.append(errors.FieldProblem(".".join(location) or "request", item.get("msg", "invalid")))
    return problem(
        request,
        status=422,
        code="input.invalid",
        title=errors.InvalidInput.title,
        detail="; ".join(f"{p.field}: {p.message}" for p in problems) or "the request is not valid",
        problems=problems,
    )


HTTP_CODES = {
    404: ("not_found", "Not found", "There is nothing at this address."),
    405: ("method_not_allowed", "Method not allowed", "This address does not accept that method."),
}


async def handle_http_error(request: Request, exc: StarletteHTTPException) -> Response:
    code, title, detail = HTTP_CODES.get(exc.status_code, ("error", "Error", str(exc.detail)))
    if exc.status_code not in HTTP_CODES and isinstance(exc.detail, str):
        detail = exc.detail
    return problem(
        request,
        status=exc.status_code,
        code=code,
        title=title,
        detail=detail,
        headers=getattr(exc, "headers", None),
    )


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem(
        request,
        status=500,
        code="error",
        title="Something went wrong",
        detail="An unexpected error happened; it has been logged.",
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.BluelampError, handle_bluelamp_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
    app.add_exception_handler(Exception, handle_unexpected)
