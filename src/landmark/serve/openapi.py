"""An OpenAPI 3.1 document for the served models, built from their signatures."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..models.signature import Signature
    from .app import Server


def _scalar(dtype: str | None) -> dict[str, Any]:
    d = (dtype or "").lower().removeprefix("torch.")
    if d.startswith("bool"):
        return {"type": "boolean"}
    if d.startswith(("int", "uint")) or d == "int":
        return {"type": "integer"}
    if d.startswith(("float", "double", "half", "bfloat")) or d == "float":
        return {"type": ["number", "null"]}
    if d.startswith("datetime"):
        return {"type": "string", "format": "date-time"}
    if d in ("", "object", "unknown"):
        return {}
    return {"type": "string"}


def _nested(item: dict[str, Any], dims: int) -> dict[str, Any]:
    schema = item
    for _ in range(max(dims, 1)):
        schema = {"type": "array", "items": schema}
    return schema


def schema(sig: Signature) -> dict[str, Any]:
    """The JSON a request may carry for an input of signature ``sig``."""
    k = sig.kind
    if k == "dataframe":
        props = {c.name: _scalar(c.dtype) for c in sig.columns}
        names = [c.name for c in sig.columns]
        record = {"type": "object", "properties": props, "required": names}
        return {
            "oneOf": [
                {"title": "records", "type": "array", "items": record, "minItems": 1},
                {
                    "title": "columns",
                    "type": "object",
                    "properties": {n: {"type": "array", "items": s} for n, s in props.items()},
                    "required": names,
                },
                {
                    "title": "split",
                    "type": "object",
                    "properties": {
                        "columns": {"type": "array", "items": {"type": "string"}},
                        "data": {"type": "array", "items": {"type": "array"}},
                    },
                    "required": ["columns", "data"],
                },
            ],
            "description": "Columns: " + ", ".join(f"{c.name} ({c.dtype})" for c in sig.columns),
        }
    if k in ("ndarray", "tensor", "sparse"):
        dims = len(sig.shape) if sig.shape else 1
        return _nested(_scalar(sig.dtype), dims) | {"description": sig.describe()}
    if k == "series":
        return {"type": "array", "items": _scalar(sig.dtype)}
    if k == "list":
        return {"type": "array", "items": schema(sig.item) if sig.item else {}}
    if k == "dict":
        return {
            "type": "object",
            "properties": {n: schema(s) for n, s in sig.fields},
            "required": [n for n, _ in sig.fields],
        }
    if k == "scalar":
        return _scalar(sig.dtype)
    return {}


def _output(sig: Signature) -> dict[str, Any]:
    if sig.kind == "dataframe":
        return {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {c.name: _scalar(c.dtype) for c in sig.columns},
            },
        }
    return schema(sig)


ERROR = {
    "description": "One line saying what is wrong",
    "content": {
        "application/json": {
            "schema": {"type": "object", "properties": {"error": {"type": "string"}}}
        }
    },
}


def document(server: Server) -> dict[str, Any]:
    from .. import __version__

    paths: dict[str, Any] = {}
    single = len(server.order) == 1
    for name in server.order:
        served = server.slots[name].current
        base = "" if single else f"/models/{name}"
        for method in served.model.endpoints:
            spec = served.model.method(method)
            paths[f"{base}/{method}"] = {
                "post": {
                    "summary": f"{method} with {name} {served.label}",
                    "operationId": f"{name}_{method}".replace("-", "_"),
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": schema(spec.input)}},
                    },
                    "responses": {
                        "200": {
                            "description": "The model's answer",
                            "headers": {
                                "X-Model-Version": {"schema": {"type": "string"}},
                                "X-Request-Id": {"schema": {"type": "string"}},
                            },
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {"predictions": _output(spec.output)},
                                    }
                                }
                            },
                        },
                        "413": ERROR,
                        "422": ERROR,
                        "503": ERROR,
                    },
                }
            }
    for path, summary in (
        ("/health", "Liveness"),
        ("/ready", "Readiness: 200 when every model is loaded and ready"),
        ("/metadata", "Name, version, stage, commit, signatures, requirements, safety"),
        ("/metrics", "Prometheus metrics"),
    ):
        paths[path] = {"get": {"summary": summary, "responses": {"200": {"description": "OK"}}}}
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "landmark serve: " + ", ".join(server.order),
            "version": __version__,
        },
        "paths": paths,
    }
    if server.options.token:
        doc["components"] = {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}}
        doc["security"] = [{"bearer": []}]
    return doc
