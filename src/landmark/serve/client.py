"""``landmark.Client``: the methods of models served by ``landmark serve``, called from Python.

    client = landmark.Client("http://127.0.0.1:8080")
    client.predict(df)                 # what the local model's predict returns
    client.predict_proba(df)
    client.model("churn").predict(df)  # when several models are served
    client.metadata()                  # name, version, stage, commit, signatures...

The methods come from the server's ``/metadata``; answers are turned back into the type the
local model returns (ndarray, DataFrame...) from each method's output signature.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import InvalidInput, LandmarkError, NotFound, RemoteError, SignatureError
from ..models.signature import Signature


class ServerError(RemoteError):
    """The server answered with an error; ``status`` is its HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


_BY_STATUS: dict[int, type[LandmarkError]] = {404: NotFound, 422: SignatureError}


class RemoteMethod:
    def __init__(self, model: RemoteModel, name: str, spec: dict[str, Any]) -> None:
        self.model = model
        self.name = name
        self.input = Signature.from_dict(spec.get("input"))
        self.output = Signature.from_dict(spec.get("output"))

    def __call__(self, data: Any) -> Any:
        from . import codec

        body = json.dumps(codec.to_json(data), separators=(",", ":")).encode()
        doc = self.model.client._post(self.model.endpoints[self.name], body)
        self.model.last_version = self.model.client.last_headers.get("x-model-version")
        return codec.from_json(doc.get("predictions"), self.output)

    def __repr__(self) -> str:
        return f"<remote {self.name}({self.input.describe()}) -> {self.output.describe()}>"


class RemoteModel:
    """One served model: its metadata and methods."""

    def __init__(self, client: Client, doc: dict[str, Any]) -> None:
        self.client = client
        self.doc = doc
        self.name = str(doc.get("name"))
        self.endpoints: dict[str, str] = dict(doc.get("endpoints") or {})
        self.methods = {
            m: RemoteMethod(self, m, spec) for m, spec in (doc.get("methods") or {}).items()
        }
        self.last_version: str | None = None

    @property
    def version(self) -> str | None:
        v = self.doc.get("version")
        return None if v is None else str(v)

    def __getattr__(self, name: str) -> RemoteMethod:
        methods = self.__dict__.get("methods") or {}
        if name in methods:
            return methods[name]  # type: ignore[no-any-return]
        raise AttributeError(
            f"model {self.__dict__.get('name')!r} has no method {name!r} "
            f"(it serves {', '.join(methods) or 'none'})"
        )

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self.methods})


class Client:
    """A client of one ``landmark serve`` process (``token``: its bearer token)."""

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 30.0) -> None:
        import httpx

        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)
        self.last_headers: dict[str, str] = {}
        self._models: dict[str, RemoteModel] | None = None

    # -- plumbing --------------------------------------------------------------------------
    def _send(self, method: str, path: str, body: bytes | None = None) -> Any:
        import httpx

        try:
            response = self._http.request(
                method,
                path,
                content=body,
                headers={"Content-Type": "application/json"} if body is not None else None,
            )
        except httpx.HTTPError as e:
            raise RemoteError(f"cannot reach {self.url}: {e}") from None
        self.last_headers = {k.lower(): v for k, v in response.headers.items()}
        try:
            doc = response.json()
        except ValueError:
            doc = {"error": response.text[:300]}
        if response.status_code >= 400:
            message = doc.get("error") if isinstance(doc, dict) else None
            text = f"{self.url}{path}: {response.status_code} {message or response.reason_phrase}"
            cls = _BY_STATUS.get(response.status_code)
            if cls is not None:
                raise cls(text)
            raise ServerError(response.status_code, text)
        return doc

    def _post(self, path: str, body: bytes) -> Any:
        return self._send("POST", path, body)

    # -- the API ---------------------------------------------------------------------------
    def metadata(self) -> Any:
        return self._send("GET", "/metadata")

    def ready(self) -> bool:
        try:
            self._send("GET", "/ready")
        except LandmarkError:
            return False
        return True

    @property
    def models(self) -> dict[str, RemoteModel]:
        if self._models is None:
            doc = self._send("GET", "/models")
            self._models = {str(m["name"]): RemoteModel(self, m) for m in doc.get("models", [])}
        return self._models

    def model(self, name: str | None = None) -> RemoteModel:
        models = self.models
        if name is None:
            if len(models) != 1:
                raise InvalidInput(
                    f"{self.url} serves {len(models)} models ({', '.join(models)}): "
                    "pick one with client.model(NAME)"
                )
            return next(iter(models.values()))
        if name not in models:
            raise NotFound(f"{self.url} serves no model {name!r} ({', '.join(models)})")
        return models[name]

    def refresh(self) -> None:
        """Read the served models' metadata again (after a version swap, say)."""
        self._models = None

    def __getattr__(self, name: str) -> RemoteMethod:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.model(), name)  # type: ignore[no-any-return]

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
