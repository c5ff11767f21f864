"""Prometheus metrics of one server process (``GET /metrics``), in its own registry."""

from __future__ import annotations

from typing import Any

LATENCY_BUCKETS = (
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class Metrics:
    def __init__(self) -> None:
        from prometheus_client import (
            CollectorRegistry,
            Counter,
            Gauge,
            Histogram,
            disable_created_metrics,
        )

        disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created: noise
        self._answered: dict[tuple[str, str, str], tuple[Any, Any, Any]] = {}
        self._queues: dict[tuple[str, str], Any] = {}

        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        model = ["model", "version", "method"]
        self.requests = Counter(
            "landmark_requests", "Prediction requests answered.", [*model, "code"], registry=r
        )
        self.errors = Counter(
            "landmark_request_errors", "Requests that failed, by kind.", ["model", "kind"],
            registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "landmark_request_duration_seconds", "Time to answer a prediction request.",
            model, buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.rows = Counter("landmark_rows", "Rows predicted.", model, registry=r)
        self.batch_rows = Histogram(
            "landmark_batch_rows", "Rows in each batch the model ran (adaptive batching).",
            ["model", "method"], buckets=BATCH_BUCKETS, registry=r,
        )  # fmt: skip
        self.batch_requests = Histogram(
            "landmark_batch_requests", "Requests merged into each batch.",
            ["model", "method"], buckets=BATCH_BUCKETS, registry=r,
        )  # fmt: skip
        self.queue = Gauge(
            "landmark_queue_depth", "Requests waiting for a batch.", ["model", "method"],
            registry=r,
        )  # fmt: skip
        self.info = Gauge(
            "landmark_model_info", "1 for the version serving each model.",
            ["model", "version", "stage", "commit"], registry=r,
        )  # fmt: skip
        self.ready = Gauge(
            "landmark_model_ready", "1 when the model is ready.", ["model"], registry=r
        )
        self.loads = Counter(
            "landmark_model_loads", "Versions loaded, by outcome.", ["model", "version", "outcome"],
            registry=r,
        )  # fmt: skip
        self.shadow_latency = Histogram(
            "landmark_shadow_duration_seconds", "Time the shadow model took per request.",
            ["model", "version", "shadow_version"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.shadow_rows = Counter(
            "landmark_shadow_rows", "Rows the shadow model predicted.",
            ["model", "shadow_version"], registry=r,
        )  # fmt: skip
        self.shadow_disagree = Counter(
            "landmark_shadow_disagreements", "Rows where the shadow's answer differs from the served one.",
            ["model", "shadow_version"], registry=r,
        )  # fmt: skip
        self.shadow_errors = Counter(
            "landmark_shadow_errors", "Shadow calls that failed or were dropped.",
            ["model", "reason"], registry=r,
        )  # fmt: skip

    def answered(self, model: str, version: str, method: str) -> tuple[Any, Any, Any]:
        """The latency, ``200`` count and rows children of one model, version and method,
        looked up once (``labels()`` takes a lock and builds its key on every call)."""
        key = (model, version, method)
        children = self._answered.get(key)
        if children is None:
            if len(self._answered) > 1024:  # versions come and go under --follow
                self._answered.clear()
            children = self._answered[key] = (
                self.latency.labels(*key),
                self.requests.labels(*key, "200"),
                self.rows.labels(*key),
            )
        return children

    def queue_of(self, model: str, method: str) -> Any:
        """The queue-depth child of one model and method, looked up once."""
        key = (model, method)
        child = self._queues.get(key)
        if child is None:
            child = self._queues[key] = self.queue.labels(model, method)
        return child

    def set_info(self, model: str, served: Any, stage: str | None) -> None:
        """Exactly one ``landmark_model_info`` series per model: the serving version."""
        for labels in list(self.info._metrics):  # the children, keyed by label values
            if labels[0] == model:
                self.info.remove(*labels)
        self.info.labels(model, served.label, stage or "", served.commit or "").set(1)

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST
