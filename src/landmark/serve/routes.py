"""The server's routes on Starlette: REST per method, OIP v2, health, metadata and metrics."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import InvalidInput, LandmarkError
from . import codec
from .app import _DECODE_INLINE, OPEN, HTTPError, Server, _line, _status, check_token, request_id
from .batching import BatchError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from .runtime import Served, Slot

JSON = "application/json"


def _json(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(doc, separators=(",", ":"), default=str).encode()
    return Response(body, status, headers=headers, media_type=JSON)


def _error(status: int, message: str, rid: str) -> Response:
    return _json({"error": message}, status, {"X-Request-Id": rid})


async def _body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise HTTPError(413, f"the request body is larger than the limit of {limit} bytes")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPError(413, f"the request body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def build(server: Server) -> Starlette:
    opts = server.options
    metrics = server.metrics
    access = server.access

    def guard(handler: Callable[..., Awaitable[Response]]) -> Callable[[Request], Any]:
        """Token, request id, errors as one JSON line, access log: around every handler."""

        async def endpoint(request: Request) -> Response:
            t0 = time.perf_counter()
            rid = request_id(request.headers.get("x-request-id"))
            path = request.url.path
            try:
                if path not in OPEN:
                    check_token(opts.token, request.headers.get("authorization"))
                response = await handler(request, rid)
            except HTTPError as e:
                response = _error(e.status, e.message, rid)
            except LandmarkError as e:
                response = _error(_status(e), _line(str(e)), rid)
            response.headers["X-Request-Id"] = rid
            if access is not None:
                access.write(
                    {
                        "time": _now_ms(),
                        "request_id": rid,
                        "method": request.method,
                        "path": path,
                        "status": response.status_code,
                        "ms": round((time.perf_counter() - t0) * 1000, 3),
                        "model": response.headers.get("x-model-name"),
                        "version": response.headers.get("x-model-version"),
                        "client": request.client.host if request.client else None,
                    }
                )
            return response

        return endpoint

    def ready_slot(name: str | None) -> Slot:
        slot = server.slot(name)
        if not slot.ready:
            raise HTTPError(503, f"model {slot.name!r} is not ready: {slot.note or 'loading'}")
        return slot

    async def run(
        slot: Slot, served: Served, method: str, data: Any, rid: str
    ) -> tuple[Any, float]:
        t0 = time.perf_counter()
        labels = (slot.name, served.label, method)
        try:
            answer = await server.predict(slot, served, method, data)
        except BatchError as e:
            metrics.errors.labels(slot.name, "batch").inc()
            metrics.requests.labels(*labels, "500").inc()
            raise HTTPError(500, _line(str(e))) from None
        except LandmarkError as e:
            metrics.errors.labels(slot.name, type(e).__name__).inc()
            metrics.requests.labels(*labels, str(_status(e))).inc()
            raise
        except Exception as e:  # the model's own code failed on this input
            metrics.errors.labels(slot.name, "model").inc()
            metrics.requests.labels(*labels, "500").inc()
            raise HTTPError(
                500, f"the model's {method} failed: {_line(f'{type(e).__name__}: {e}')}"
            ) from None
        took = time.perf_counter() - t0
        latency, answered, rows = metrics.answered(*labels)
        latency.observe(took)
        answered.inc()
        rows.inc(_rows(data))
        return answer, took * 1000

    async def decode(body: bytes, parse: Callable[[], Any]) -> Any:
        """``parse()`` on the event loop for small bodies, in a worker thread for large ones
        (the method was checked by ``_input_sig``)."""
        if len(body) <= _DECODE_INLINE:
            return parse()
        return await asyncio.get_running_loop().run_in_executor(server.executor, parse)

    def model_headers(served: Served) -> dict[str, str]:
        return {"X-Model-Name": served.name, "X-Model-Version": served.label}

    # -- REST ------------------------------------------------------------------------------
    async def rest(request: Request, rid: str) -> Response:
        name = request.path_params.get("name")
        method = request.path_params["method"]
        slot = ready_slot(name)
        served = slot.current  # read once: this request keeps this version
        body = await _body(request, opts.max_body)
        sig = _input_sig(served, method)
        data = await decode(body, lambda: codec.decode(body, sig))
        answer, ms = await run(slot, served, method, data, rid)
        server.shadow(slot, served, method, data, answer, rid, ms)
        encoded = codec.encode(answer)
        return Response(encoded, headers=model_headers(served), media_type=JSON)

    async def metadata(request: Request, rid: str) -> Response:
        name = request.path_params.get("name")
        if name is None and len(server.order) != 1:
            return _json({"models": [describe(server.slots[n]) for n in server.order]})
        slot = server.slot(name)
        return _json(describe(slot), headers=model_headers(slot.current))

    def describe(slot: Slot) -> dict[str, Any]:
        served = slot.current
        doc = describe_served(served)
        doc["ready"] = slot.ready
        if slot.note:
            doc["note"] = slot.note
        if slot.shadow is not None:
            doc["shadow"] = {
                "ref": slot.shadow.current.source.ref,
                "version": slot.shadow.current.version,
                "commit": slot.shadow.current.commit,
            }
        base = "" if len(server.order) == 1 else f"/models/{slot.name}"
        doc["endpoints"] = {m: f"{base}/{m}" for m in served.model.endpoints}
        return doc

    async def models(request: Request, rid: str) -> Response:
        return _json({"models": [describe(server.slots[n]) for n in server.order]})

    async def health(request: Request, rid: str) -> Response:
        return _json({"status": "ok"})

    async def ready(request: Request, rid: str) -> Response:
        waiting = {n: s.note or "not ready" for n, s in server.slots.items() if not s.ready}
        if waiting:
            return _json({"status": "not ready", "models": waiting}, 503)
        return _json({"status": "ready"})

    async def metrics_page(request: Request, rid: str) -> Response:
        body, content_type = metrics.render()
        return Response(body, headers={"Content-Type": content_type})

    async def openapi(request: Request, rid: str) -> Response:
        from .openapi import document

        return _json(document(server))

    # -- Open Inference Protocol v2 ---------------------------------------------------------
    def oip_slot(request: Request) -> tuple[Slot, Served]:
        slot = server.slot(request.path_params["name"])
        served = slot.current
        version = request.path_params.get("version")
        if version is not None and version not in _aliases(served):
            raise HTTPError(
                404,
                f"model {slot.name!r} version {version!r} is not served here "
                f"(serving {served.label}"
                + (f", stage {served.source.stage}" if served.source.stage else "")
                + ")",
            )
        return slot, served

    async def v2(request: Request, rid: str) -> Response:
        from .. import __version__

        return _json({"name": "landmark", "version": __version__, "extensions": ["binary_data"]})

    async def v2_live(request: Request, rid: str) -> Response:
        return _json({"live": True})

    async def v2_ready(request: Request, rid: str) -> Response:
        ok = all(s.ready for s in server.slots.values())
        return _json({"ready": ok}, 200 if ok else 503)

    async def v2_model(request: Request, rid: str) -> Response:
        from . import oip

        slot, served = oip_slot(request)
        method = served.model.default_method
        spec = served.model.method(method)
        doc = oip.model_metadata(
            slot.name,
            versions=sorted(_aliases(served)),
            platform=f"{served.model.meta.adapter}-{served.model.meta.framework.name}",
            inputs=spec.input,
            outputs=spec.output,
            output_name="predict",
        )
        return _json(doc, headers=model_headers(served))

    async def v2_model_ready(request: Request, rid: str) -> Response:
        slot, _ = oip_slot(request)
        return _json({"name": slot.name, "ready": slot.ready}, 200 if slot.ready else 503)

    async def v2_infer(request: Request, rid: str) -> Response:
        from . import oip

        slot, served = oip_slot(request)
        if not slot.ready:
            raise HTTPError(503, f"model {slot.name!r} is not ready: {slot.note or 'loading'}")
        body = await _body(request, opts.max_body)
        raw = request.headers.get("inference-header-content-length")
        if raw is not None and not raw.isdigit():
            raise InvalidInput("Inference-Header-Content-Length must be a number of bytes")
        header_length = int(raw) if raw is not None else None
        method = "predict"
        sig = _input_sig(served, method)
        req = await decode(
            body,
            lambda: oip.decode_request(body, header_length=header_length, signature=sig),
        )
        answer, ms = await run(slot, served, method, req.data, rid)
        server.shadow(slot, served, method, req.data, answer, rid, ms)
        out, headers = oip.encode_response(
            model_name=slot.name,
            model_version=served.label,
            request_id=req.id or rid,
            result=answer,
            output_name="predict",
            binary=req.binary_outputs,
            requested=req.outputs or None,
        )
        headers = {**headers, **model_headers(served)}
        return Response(out, headers=headers)

    def r(path: str, handler: Callable[..., Awaitable[Response]], *methods: str) -> Route:
        return Route(path, guard(handler), methods=list(methods or ("GET",)))

    # Predictions first: they are what a server is asked most. Starlette takes a route that
    # matches path and method over one that matches the path only, whatever the order, so
    # GET /health still finds its route and POST /health still reaches rest (a 404 naming
    # the methods) as before.
    routes = [
        r("/{method}", rest, "POST"),
        r("/v2/models/{name}/infer", v2_infer, "POST"),
        r("/v2/models/{name}/versions/{version}/infer", v2_infer, "POST"),
        r("/models/{name}/{method}", rest, "POST"),
        r("/health", health),
        r("/ready", ready),
        r("/metadata", metadata),
        r("/metrics", metrics_page),
        r("/openapi.json", openapi),
        r("/models", models),
        r("/models/{name}/metadata", metadata),
        r("/v2", v2),
        r("/v2/health/live", v2_live),
        r("/v2/health/ready", v2_ready),
        r("/v2/models/{name}", v2_model),
        r("/v2/models/{name}/versions/{version}", v2_model),
        r("/v2/models/{name}/ready", v2_model_ready),
        r("/v2/models/{name}/versions/{version}/ready", v2_model_ready),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await server.startup()
        try:
            yield
        finally:
            await server.shutdown()

    return Starlette(routes=routes, lifespan=lifespan)


def _input_sig(served: Served, method: str) -> Any:
    if method not in served.model.endpoints:
        raise HTTPError(
            404,
            f"model {served.name!r} has no method {method!r} "
            f"(it serves {', '.join(served.model.endpoints)})",
        )
    return served.model.method(method).input


def _aliases(served: Served) -> set[str]:
    """What the OIP version segment may say: the version (with or without ``v``), the
    stage, the commit, ``latest`` for the newest."""
    names = {served.label}
    if served.version:
        names |= {served.version, served.version.removeprefix("v")}
    if served.source.stage:
        names.add(served.source.stage)
    if served.source.directory is None and served.source.ref.endswith("@latest"):
        names.add("latest")
    if served.commit:
        names |= {served.commit, served.commit[:7], served.commit[:12]}
    return names


def _rows(data: Any) -> int:
    try:
        from .batching import rows

        return rows(data)
    except (LandmarkError, TypeError):
        return 1


def _now_ms() -> str:
    from .app import _now

    return _now()


def describe_served(served: Served) -> dict[str, Any]:
    meta = served.model.meta
    verdict = served.safety
    return {
        "name": served.name,
        "ref": served.source.ref,
        "repo": served.source.repo if served.source.directory is None else None,
        "version": served.version,
        "stage": served.source.stage,
        "commit": served.commit,
        "adapter": meta.adapter,
        "framework": {"name": meta.framework.name, "version": meta.framework.version},
        "format": meta.format,
        "description": meta.description,
        "labels": list(meta.labels),
        "methods": {
            m: {
                "input": served.model.method(m).input.to_dict(),
                "output": served.model.method(m).output.to_dict(),
            }
            for m in served.model.endpoints
        },
        "requirements": [str(r) for r in meta.requirements],
        "python": meta.python,
        "safety": {"safe": verdict.safe, "reason": verdict.reason},
        "device": served.device,
        "loaded_at": served.loaded_at,
    }
