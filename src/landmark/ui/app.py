"""The web UI's Starlette app: routes, content negotiation, sign-in, errors, security headers.

Each handler parses the query or body, asks :mod:`.views` or :mod:`.actions` for the page's
data in a worker thread, and renders it: as JSON when the client asks for
``application/json`` (the page's JSON twin), as the page's fragment for an htmx request, else
as the whole page. Errors map to HTTP statuses here, in one place, and render as one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import (
    ConfigError,
    Conflict,
    InvalidInput,
    LandmarkError,
    NotFound,
    RepoError,
    one_line,
)
from ..serve.app import HTTPError, check_token
from . import actions, comparison, files, views
from .catalog import Catalog

JSON = "application/json"
COOKIE = "landmark_ui_session"
MAX_FORM = 64 * 1024
STATIC = Path(__file__).parent / "static"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


def status_of(error: BaseException) -> int:
    """The HTTP status of a registry error (the one mapping of the web UI)."""
    if isinstance(error, HTTPError):
        return error.status
    if isinstance(error, InvalidInput):
        return 422
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, Conflict):
        return 409
    if isinstance(error, RepoError):
        return 502
    if isinstance(error, ConfigError):
        return 500
    return 500


class _Headers:
    """Adds the security headers to every response, and ``Server-Timing: app;dur=MS`` (the
    time until the response started: what ``bench/ui.py`` reads). Pure ASGI: streams stay
    streams."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                ms = (time.perf_counter() - started) * 1000
                timing = (b"server-timing", f"app;dur={ms:.2f}".encode())
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS, timing]
            await send(message)

        await self.app(scope, receive, sending)


class Auth:
    """Who may act: a bearer token, or the session cookie that signing in with it sets.

    Without a token the UI is read-only (actions answer 403). The cookie's value is an HMAC
    of a per-process secret under the token: it says nothing of the token and ends with the
    process. It is ``SameSite=Strict``, and a cookie-signed request whose ``Origin`` is not
    this server's is refused, so another site cannot act through a signed-in browser.
    """

    def __init__(self, token: str | None) -> None:
        self.token = token
        secret = secrets.token_bytes(32)
        self.session = (
            hmac.new(token.encode(), secret, hashlib.sha256).hexdigest() if token else None
        )

    @property
    def enabled(self) -> bool:
        return self.token is not None

    def signed_in(self, request: Request) -> bool:
        cookie = request.cookies.get(COOKIE)
        return bool(self.session and cookie and hmac.compare_digest(cookie, self.session))

    def check(self, request: Request) -> None:
        if self.token is None:
            raise HTTPError(
                403,
                "this UI is read-only: start landmark ui with --token-file FILE to allow actions",
            )
        header = request.headers.get("authorization")
        if header:
            check_token(self.token, header)
            return
        if not self.signed_in(request):
            raise HTTPError(
                401, "sign in with the token first (or send Authorization: Bearer TOKEN)"
            )
        origin = request.headers.get("origin")
        if origin and origin != f"{request.url.scheme}://{request.url.netloc}":
            raise HTTPError(403, "a request from another site was refused")


def _when(value: str | None) -> str:
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return value


def _short(value: str | None) -> str:
    return (value or "")[:7]


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("landmark.ui", "templates"),
        autoescape=True,  # everything from a repository is text, never markup
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["short"] = _short
    env.filters["q"] = lambda s: quote(str(s), safe="")
    env.filters["path"] = lambda s: quote(str(s), safe="/:")
    env.filters["tojson_text"] = lambda v: json.dumps(v, indent=2, default=str)
    return env


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return JSON in accept and "text/html" not in accept


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _json(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(doc, default=str, separators=(",", ":")).encode()
    return Response(body, status, headers=headers, media_type=JSON)


async def _form(request: Request) -> dict[str, Any]:
    """A POST body: ``application/json`` (an object) or a urlencoded form."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_FORM:
        raise HTTPError(413, f"the request body is larger than {MAX_FORM} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            raise HTTPError(413, f"the request body is larger than {MAX_FORM} bytes")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == JSON:
        try:
            doc = json.loads(body or b"{}")
        except ValueError:
            raise InvalidInput("the body is not valid JSON") from None
        if not isinstance(doc, dict):
            raise InvalidInput("the JSON body must be an object")
        return doc
    if kind in ("application/x-www-form-urlencoded", ""):
        try:
            return dict(parse_qsl(body.decode(), keep_blank_values=True))
        except UnicodeDecodeError:
            raise InvalidInput("the form is not UTF-8") from None
    raise HTTPError(415, "send a form (application/x-www-form-urlencoded) or JSON")


def _params(request: Request) -> dict[str, str]:
    return dict(request.query_params.items())


def build(catalog: Catalog, *, token: str | None = None, interval: float = 5.0) -> Starlette:
    env = environment()
    auth = Auth(token)

    def render(request: Request, template: str, code: int = 200, **context: Any) -> Response:
        page = env.get_template(template).render(
            auth={"enabled": auth.enabled, "signed_in": auth.signed_in(request)},
            path=request.url.path,
            full_url=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
            interval=max(1.0, interval),
            stamp=context.pop("stamp", None) or catalog.stamp(),
            **context,
        )
        return Response(page, code, media_type="text/html")

    def error(request: Request, status: int, message: str) -> Response:
        if _wants_json(request):
            return _json({"error": message}, status)
        template = "_error.html" if _is_htmx(request) else "error.html"
        return render(request, template, status, status=status, message=message)

    def page(
        handler: Callable[[Request], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except (HTTPError, LandmarkError) as e:
                message = e.message if isinstance(e, HTTPError) else str(e)
                return error(request, status_of(e), one_line(message, 300))
            except Exception as e:  # a bug: one line, never a traceback page
                return error(request, 500, one_line(f"internal error: {type(e).__name__}", 300))

        return endpoint

    async def models_page(request: Request) -> Response:
        query = views.TableQuery.parse(_params(request), request.query_params.getlist("cols"))
        data = await run_in_threadpool(views.table, catalog, query)
        if _wants_json(request):
            return _json(data)
        template = "_table.html" if _is_htmx(request) else "models.html"
        return render(request, template, data=data, query=query, columns=views.COLUMNS)

    async def stamp(request: Request) -> Response:
        """The registry stamp; for the page's poller: 204 while it stays ``since``."""
        now = await run_in_threadpool(catalog.stamp)
        if _wants_json(request):
            return _json({"stamp": now})
        since = request.query_params.get("since")
        if since == now:
            return Response(status_code=204)
        response = render(request, "_stamp.html", stamp=now)
        if since is not None:
            response.headers["HX-Trigger"] = "registry-changed"
        return response

    async def model_page(request: Request) -> Response:
        name = request.path_params["name"]
        query = views.ModelQuery.parse(_params(request))
        data = await run_in_threadpool(views.model, catalog, name, query)
        location = catalog.source(data["repo"]).location
        version = data["version"]["version"] if data["version"] else None
        data["snippets"] = views.snippets(name, version, location)
        if _wants_json(request):
            return _json(data)
        return render(
            request,
            "model.html",
            data=data,
            query=query,
            actions=actions.ACTIONS,
            kinds=views.KINDS,
        )

    def action_endpoint(action: str) -> Callable[[Request], Awaitable[Response]]:
        async def act(request: Request) -> Response:
            auth.check(request)
            name = request.path_params["name"]
            form = await _form(request)
            repo = request.query_params.get("repo") or form.get("repo")
            view = await run_in_threadpool(
                catalog.locate, name, repo if isinstance(repo, str) and repo else None
            )
            result = await run_in_threadpool(actions.perform, view.source, action, name, form)
            result["repo"] = view.source.id
            if _wants_json(request):
                return _json(result)
            response = render(
                request,
                "_action.html" if _is_htmx(request) else "action.html",
                result=result,
                name=name,
                action=action,
                form={k: v for k, v in form.items() if isinstance(v, str)},
            )
            if result["done"]:
                response.headers["HX-Trigger"] = "registry-changed"
            return response

        return act

    async def download(request: Request) -> Response:
        name = request.path_params["name"]
        params = _params(request)
        version = params.get("version")
        if not version:
            raise InvalidInput("version is required, e.g. ?version=v1.2.0")
        from .catalog import check_version_text

        version = check_version_text(version)
        view = await run_in_threadpool(catalog.locate, name, params.get("repo") or None)
        art = view.artifact(name)
        if not any(v.version == version for v in art.get_versions()):
            raise NotFound(f"model {name!r} has no registered version {version}")
        tmp, top = await run_in_threadpool(files.fetch, view.source, name, version)
        base = f"{name.replace('/', '-').replace(':', '-')}-{version}"
        return StreamingResponse(
            files.stream(tmp, top, base),
            media_type="application/gzip",
            headers={"Content-Disposition": f'attachment; filename="{base}.tar.gz"'},
        )

    async def compare_page(request: Request) -> Response:
        params = _params(request)
        query = views.CompareQuery.parse(params, request.query_params.getlist("refs"))
        data = await run_in_threadpool(comparison.page, catalog, query)
        if _wants_json(request):
            return _json(data)
        return render(request, "compare.html", data=data, query=query)

    async def plot(request: Request) -> Response:
        params = _params(request)
        query = views.CompareQuery.parse(params, request.query_params.getlist("refs"))
        svg = await run_in_threadpool(comparison.plot, catalog, query, params.get("plot") or "")
        return Response(svg, media_type="image/svg+xml")

    async def signin(request: Request) -> Response:
        target = request.query_params.get("next") or "/"
        if urlsplit(target).netloc or not target.startswith("/") or target.startswith("//"):
            target = "/"
        if request.method == "GET":
            return render(request, "signin.html", next=target, message=None)
        if not auth.enabled:
            raise HTTPError(403, "this UI is read-only: there is nothing to sign in to")
        form = await _form(request)
        given = form.get("token")
        assert auth.token is not None and auth.session is not None
        if not isinstance(given, str) or not hmac.compare_digest(given.strip(), auth.token):
            return render(request, "signin.html", 401, next=target, message="wrong token")
        response = RedirectResponse(target, 303)
        response.set_cookie(
            COOKIE, auth.session, httponly=True, samesite="strict", path="/",
            secure=request.url.scheme == "https",
        )  # fmt: skip
        return response

    async def signout(request: Request) -> Response:
        response = RedirectResponse("/", 303)
        response.delete_cookie(COOKIE, path="/")
        return response

    async def not_found(request: Request, exc: Exception) -> Response:
        return error(request, 404, f"no page at {one_line(request.url.path, 200)}")

    async def not_allowed(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 405)
        return error(request, status, f"{request.method} is not allowed at this address")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.get_running_loop().create_task(_keep_fresh(catalog, interval))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    name_path = "{name:path}"
    routes: list[Any] = [
        Route("/", page(models_page)),
        Route("/stamp", page(stamp)),
        Route("/compare", page(compare_page)),
        Route("/compare/plot.svg", page(plot)),
        Route("/signin", page(signin), methods=["GET", "POST"]),
        Route("/signout", page(signout), methods=["POST"]),
        *[
            Route(f"/models/{name_path}/{a}", page(action_endpoint(a)), methods=["POST"])
            for a in actions.ACTIONS
        ],
        Route(f"/files/{name_path}", page(download)),
        Route(f"/models/{name_path}", page(model_page)),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={404: not_found, 405: not_allowed},
    )
    app.state.catalog = catalog
    app.add_middleware(_Headers)
    return app


async def _keep_fresh(catalog: Catalog, interval: float) -> None:
    """Fetch remote repositories every ``interval`` seconds; read new models' metadata."""
    while True:
        # A broken model must not stop the loop: its page says what is wrong with it.
        with contextlib.suppress(Exception):
            await run_in_threadpool(catalog.warm)
        await asyncio.sleep(interval)
        for source in catalog.sources.values():
            if source.remote:
                with contextlib.suppress(LandmarkError):
                    await run_in_threadpool(source.registry.refresh)


__all__ = ["Auth", "build", "environment", "status_of"]
