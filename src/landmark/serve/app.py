"""The model server's web app: REST per method, the Open Inference Protocol v2, operations.

One :class:`Server` holds the slots of the served models, their batchers, followers and
shadows, the metrics and the logs; :meth:`Server.app` is its Starlette application. Every
prediction runs in a worker thread, never on the event loop; a request reads its model's
slot once, so a version swapped in by ``--follow`` answers only the requests that arrive
after the swap.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from ..errors import InvalidInput, LandmarkError, NotFound, SignatureError, one_line
from . import codec
from .batching import BatchConfig, Batcher, BatchError, rows
from .metrics import Metrics
from .runtime import Served, Slot, Source, Target, load, resolve

Handler = Callable[[Any], Awaitable[Any]]
OPEN = ("/health", "/ready", "/v2/health/live", "/v2/health/ready")  # no token asked
MAX_BODY = 64 * 1024 * 1024
_DECODE_INLINE = 64 * 1024  # bodies up to this size are decoded on the event loop


@dataclass
class ServeOptions:
    sources: list[Source]
    shadows: dict[str, Source] = field(default_factory=dict)  # model name -> shadow source
    targets: dict[str, Target] = field(default_factory=dict)  # versions resolved at start
    trust: bool = False
    device: str = "cpu"
    batch: dict[str, BatchConfig] = field(default_factory=dict)  # model name -> batching
    follow: bool = False
    interval: float = 10.0
    unready_when_unassigned: bool = False
    token: str | None = None
    max_body: int = MAX_BODY
    log_predictions: str | None = None
    access_log: str | None = "-"  # "-": stderr; None: off
    threads: int = 4

    def to_json(self) -> str:
        return json.dumps(
            {
                "sources": [_source_doc(s) for s in self.sources],
                "shadows": {k: _source_doc(s) for k, s in self.shadows.items()},
                "targets": {k: [t.version, t.commit] for k, t in self.targets.items()},
                "trust": self.trust,
                "device": self.device,
                "batch": {k: [b.max_batch, b.max_wait] for k, b in self.batch.items()},
                "follow": self.follow,
                "interval": self.interval,
                "unready_when_unassigned": self.unready_when_unassigned,
                "token": self.token,
                "max_body": self.max_body,
                "log_predictions": self.log_predictions,
                "access_log": self.access_log,
                "threads": self.threads,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> ServeOptions:
        doc = json.loads(text)
        return cls(
            sources=[_source(d) for d in doc["sources"]],
            shadows={k: _source(d) for k, d in doc["shadows"].items()},
            targets={k: Target(v, c) for k, (v, c) in doc["targets"].items()},
            trust=doc["trust"],
            device=doc["device"],
            batch={k: BatchConfig(int(n), float(w)) for k, (n, w) in doc["batch"].items()},
            follow=doc["follow"],
            interval=doc["interval"],
            unready_when_unassigned=doc["unready_when_unassigned"],
            token=doc["token"],
            max_body=doc["max_body"],
            log_predictions=doc["log_predictions"],
            access_log=doc["access_log"],
            threads=doc["threads"],
        )


def _source_doc(s: Source) -> dict[str, Any]:
    return {"ref": s.ref, "repo": s.repo, "dir": str(s.directory or ""), "name": s.name}


def _source(d: dict[str, Any]) -> Source:
    return Source(d["ref"], d["repo"], Path(d["dir"]) if d["dir"] else None, d["name"])


class HTTPError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _status(error: BaseException) -> int:
    if isinstance(error, (InvalidInput, SignatureError)):
        return 422
    if isinstance(error, NotFound):
        return 404
    return 500


def _line(text: str, limit: int = 300) -> str:
    return one_line(text, limit)


class _JsonLines:
    """A JSON-lines sink: a request only appends its line to a list; a background thread
    writes what gathered every ``interval`` seconds (waking once a request would make the
    threads fight over the interpreter lock), and at close."""

    def __init__(self, target: str, interval: float = 0.2) -> None:
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._stream: TextIO = (
            sys.stderr if target == "-" else open(target, "a", encoding="utf-8")  # noqa: SIM115
        )
        self._owned = target != "-"
        self._interval = interval
        self._thread = threading.Thread(target=self._drain, name="landmark-log", daemon=True)
        self._thread.start()

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, default=str, separators=(",", ":"))
        with self._lock:
            self._lines.append(line)

    def _flush(self) -> None:
        with self._lock:
            lines, self._lines = self._lines, []
        if lines:
            try:
                self._stream.write("\n".join(lines) + "\n")
                self._stream.flush()
            except (OSError, ValueError):
                pass

    def _drain(self) -> None:
        while not self._closed.wait(self._interval):
            self._flush()
        self._flush()

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=5)
        if self._owned:
            self._stream.close()


def load_all(options: ServeOptions) -> tuple[dict[str, Slot], list[str]]:
    """Every source loaded (the first failure raises); the names in serving order."""
    slots: dict[str, Slot] = {}
    order: list[str] = []
    for source in options.sources:
        if source.name in slots:
            raise InvalidInput(
                f"two models are named {source.name!r}; serve them from separate processes"
            )
        served = load(
            source, options.targets.get(source.name), trust=options.trust, device=options.device
        )
        shadow = None
        shadow_source = options.shadows.get(source.name)
        if shadow_source is not None:
            shadow_served = load(
                shadow_source,
                options.targets.get(f"shadow:{source.name}"),
                trust=options.trust,
                device=options.device,
            )
            shadow = Slot(shadow_served)
        slots[source.name] = Slot(served, shadow=shadow)
        order.append(source.name)
    return slots, order


class Server:
    def __init__(self, options: ServeOptions, slots: dict[str, Slot] | None = None) -> None:
        self.options = options
        if slots is None:
            slots, order = load_all(options)
        else:
            order = list(slots)
        self.slots = slots
        self.order = order
        self.metrics = Metrics()
        self.executor = ThreadPoolExecutor(options.threads, thread_name_prefix="landmark-predict")
        self.loader = ThreadPoolExecutor(1, thread_name_prefix="landmark-load")
        self.shadow_pool = ThreadPoolExecutor(1, thread_name_prefix="landmark-shadow")
        self.batchers: dict[tuple[int, str], Batcher] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self.shadow_pending = 0
        self.access = _JsonLines(options.access_log) if options.access_log else None
        self.predictions = _JsonLines(options.log_predictions) if options.log_predictions else None
        self.started = time.time()
        for name, slot in slots.items():
            self._announce(name, slot.current, "loaded")

    # -- life cycle ------------------------------------------------------------------------
    async def startup(self) -> None:
        if self.options.follow:
            loop = asyncio.get_running_loop()
            for name, slot in self.slots.items():
                if slot.current.source.follows:
                    self.tasks.append(loop.create_task(self._follow(name, slot, shadow=False)))
                if slot.shadow is not None and slot.shadow.current.source.follows:
                    self.tasks.append(loop.create_task(self._follow(name, slot.shadow, True)))

    async def shutdown(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for batcher in list(self.batchers.values()):
            await batcher.close()
        deadline = time.monotonic() + 5
        while self.shadow_pending and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        self.executor.shutdown(wait=True)
        self.shadow_pool.shutdown(wait=True)
        self.loader.shutdown(wait=False, cancel_futures=True)
        for sink in (self.predictions, self.access):
            if sink is not None:
                sink.close()

    def _announce(self, name: str, served: Served, event: str) -> None:
        stage = served.source.stage
        self.metrics.set_info(name, served, stage)
        self.metrics.ready.labels(name).set(1)
        self.metrics.loads.labels(name, served.label, "ok").inc()
        self._event(event, model=name, version=served.label, stage=stage, commit=served.commit)

    def _event(self, event: str, **fields: Any) -> None:
        if self.access is not None:
            self.access.write({"time": _now(), "event": event, **fields})

    # -- following a stage ----------------------------------------------------------------
    async def _follow(self, name: str, slot: Slot, shadow: bool) -> None:
        loop = asyncio.get_running_loop()
        source = slot.current.source
        what = f"shadow:{name}" if shadow else name
        while True:
            await asyncio.sleep(self.options.interval)
            try:
                target = await loop.run_in_executor(
                    self.loader, lambda: resolve(source, refresh=True)
                )
            except NotFound as e:  # the stage was unassigned, or the ref names nothing now
                if self.options.unready_when_unassigned and not shadow:
                    if slot.ready:
                        self.metrics.ready.labels(name).set(0)
                    slot.ready = False
                slot.note = _line(str(e))
                self._event("unassigned", model=what, reason=slot.note)
                continue
            except LandmarkError as e:
                slot.note = _line(str(e))
                self._event("follow-error", model=what, reason=slot.note)
                continue
            if not slot.ready and target.version == slot.current.version:
                slot.ready = True
                self.metrics.ready.labels(name).set(1)
            if target.version == slot.current.version or target.version == slot.failed:
                continue
            self._event("loading", model=what, version=target.version)
            try:
                served = await loop.run_in_executor(
                    self.loader,
                    lambda t=target: load(  # type: ignore[misc]
                        source, t, trust=self.options.trust, device=self.options.device
                    ),
                )
            except Exception as e:  # any failure: the old version keeps serving
                slot.failed = target.version
                slot.note = f"{target.version} failed to load: {_line(str(e))}"
                self.metrics.loads.labels(what, target.version or "", "failed").inc()
                self._event("load-failed", model=what, version=target.version, reason=slot.note)
                continue
            old = slot.swap(served)
            if not shadow:
                self._announce(name, served, "swapped")
            else:
                self._event("swapped", model=what, version=served.label)
            self._retire(old)

    def _retire(self, old: Served) -> None:
        for key in [k for k in self.batchers if k[0] == id(old)]:
            batcher = self.batchers.pop(key)
            asyncio.get_running_loop().create_task(batcher.close())

    # -- predictions ------------------------------------------------------------------------
    def slot(self, name: str | None) -> Slot:
        if name is None:
            if len(self.order) != 1:
                raise HTTPError(
                    404,
                    "several models are served: use /models/{name}/... "
                    f"({', '.join(self.order)})",
                )
            name = self.order[0]
        slot = self.slots.get(name)
        if slot is None:
            raise HTTPError(404, f"no model {name!r} is served here ({', '.join(self.order)})")
        return slot

    async def predict(self, slot: Slot, served: Served, method: str, data: Any) -> Any:
        config = self.options.batch.get(slot.name)
        if config is None:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self.executor, served.call, method, data)
        key = (id(served), method)
        batcher = self.batchers.get(key)
        if batcher is None:
            name = slot.name

            def on_batch(n: int, requests: int) -> None:
                self.metrics.batch_rows.labels(name, method).observe(n)
                self.metrics.batch_requests.labels(name, method).observe(requests)

            batcher = self.batchers[key] = Batcher(
                lambda d: served.call(method, d), config, self.executor, on_batch
            )
        queue = self.metrics.queue_of(slot.name, method)
        queue.set(batcher.depth + 1)
        try:
            return await batcher.submit(data)
        finally:
            queue.set(batcher.depth)

    def shadow(
        self, slot: Slot, served: Served, method: str, data: Any, answer: Any, rid: str, ms: float
    ) -> None:
        """Run the shadow on the same input off the response path; log and count."""
        shadow_slot = slot.shadow
        if shadow_slot is None:
            self._log_prediction(served, method, data, answer, rid, ms, None)
            return
        if self.shadow_pending >= 256:
            self.metrics.shadow_errors.labels(slot.name, "dropped").inc()
            return
        shadow = shadow_slot.current
        self.shadow_pending += 1

        def run() -> tuple[Any, float]:
            t0 = time.perf_counter()
            method_name = method if method in shadow.model.endpoints else None
            if method_name is None:
                raise NotFound(f"the shadow model has no method {method!r}")
            checked = shadow.check(method_name, data)
            out = shadow.call(method_name, checked)
            return out, time.perf_counter() - t0

        async def go() -> None:
            loop = asyncio.get_running_loop()
            try:
                out, took = await loop.run_in_executor(self.shadow_pool, run)
            except Exception as e:
                self.metrics.shadow_errors.labels(slot.name, type(e).__name__).inc()
                self._log_prediction(served, method, data, answer, rid, ms, (shadow, None, 0, e))
                return
            finally:
                self.shadow_pending -= 1
            self.metrics.shadow_latency.labels(slot.name, served.label, shadow.label).observe(took)
            n, differ = disagreements(answer, out)
            self.metrics.shadow_rows.labels(slot.name, shadow.label).inc(n)
            self.metrics.shadow_disagree.labels(slot.name, shadow.label).inc(differ)
            self._log_prediction(served, method, data, answer, rid, ms, (shadow, out, took, differ))

        asyncio.get_running_loop().create_task(go())

    def _log_prediction(
        self,
        served: Served,
        method: str,
        data: Any,
        answer: Any,
        rid: str,
        ms: float,
        shadow: tuple[Served, Any, float, Any] | None,
    ) -> None:
        if self.predictions is None:
            return
        record: dict[str, Any] = {
            "time": _now(),
            "request_id": rid,
            "model": served.name,
            "version": served.label,
            "method": method,
            "inputs": codec.jsonable(data),
            "prediction": codec.jsonable(answer),
            "latency_ms": round(ms, 3),
        }
        if shadow is not None:
            other, out, took, result = shadow
            record["shadow_version"] = other.label
            if isinstance(result, BaseException):
                record["shadow_error"] = _line(f"{type(result).__name__}: {result}")
            else:
                record["shadow_prediction"] = codec.jsonable(out)
                record["shadow_latency_ms"] = round(took * 1000, 3)
                record["disagreements"] = result
        self.predictions.write(record)

    # -- the app ---------------------------------------------------------------------------
    def app(self) -> Any:
        from . import routes

        return routes.build(self)


def disagreements(a: Any, b: Any) -> tuple[int, int]:
    """(rows compared, rows where the answers differ): numbers within a relative 1e-6."""
    import numpy as np

    try:
        left = np.asarray(codec.jsonable(a), dtype=object)
        right = np.asarray(codec.jsonable(b), dtype=object)
    except (ValueError, TypeError):
        return 1, int(codec.jsonable(a) != codec.jsonable(b))
    if left.shape != right.shape or left.ndim == 0:
        n = left.shape[0] if left.ndim else 1
        return n, n
    n = left.shape[0]
    try:
        lf, rf = left.astype(float), right.astype(float)
        same = np.isclose(lf, rf, rtol=1e-6, atol=1e-9, equal_nan=True)
    except (ValueError, TypeError):
        same = left == right
    if same.ndim > 1:
        same = same.reshape(n, -1).all(axis=1)
    return n, int(n - int(np.count_nonzero(same)))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def request_id(raw: str | None) -> str:
    if raw and len(raw) <= 128 and raw.isprintable() and " " not in raw:
        return raw
    return uuid.uuid4().hex


def check_token(expected: str | None, header: str | None) -> None:
    if expected is None:
        return
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), expected):
        raise HTTPError(401, "a bearer token is required: send Authorization: Bearer TOKEN")


__all__ = [
    "BatchError",
    "HTTPError",
    "ServeOptions",
    "Server",
    "check_token",
    "disagreements",
    "request_id",
    "rows",
]
