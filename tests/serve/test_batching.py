"""Adaptive batching: concurrent callers each get their own rows, or each get the error."""

from __future__ import annotations

import asyncio
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import landmark
from landmark.serve.batching import BatchConfig, Batcher, BatchError, concat, split

from ..churn import frame


def test_concurrent_requests_of_different_sizes_get_their_own_rows(
    churn_dir: Path, server_factory: Any
) -> None:
    s = server_factory([str(churn_dir), "--batch", "churn:64:30", "--threads", "2"])
    local = landmark.load_model(churn_dir)
    sizes = [1, 2, 3, 5, 8, 13, 1, 4, 7, 2, 9, 6]
    answers: dict[int, Any] = {}
    errors: list[str] = []
    barrier = threading.Barrier(len(sizes))

    def call(i: int, n: int) -> None:
        x = frame(n, seed=100 + i)
        with s.client() as c:
            barrier.wait()
            for _ in range(3):
                r = c.post("/predict_proba", json=x.to_dict(orient="records"))
                if r.status_code != 200:
                    errors.append(r.text)
                    return
                got = np.asarray(r.json()["predictions"])
                answers.setdefault(i, []).append(np.allclose(got, local.predict_proba(x)))
                assert got.shape == (n, 2)

    threads = [threading.Thread(target=call, args=(i, n)) for i, n in enumerate(sizes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert all(all(v) and len(v) == 3 for v in answers.values()) and len(answers) == len(sizes)
    with s.client() as c:
        text = c.get("/metrics").text
    batches = _metric(text, 'landmark_batch_requests_count{method="predict_proba",model="churn"}')
    merged = _metric(text, 'landmark_batch_requests_sum{method="predict_proba",model="churn"}')
    rows = _metric(text, 'landmark_batch_rows_sum{method="predict_proba",model="churn"}')
    assert merged == 3 * len(sizes)
    assert rows == 3 * sum(sizes)
    assert batches < merged  # some requests really were predicted together


def _metric(text: str, series: str) -> float:
    m = re.search(re.escape(series) + r" ([0-9.e+]+)", text)
    assert m, f"{series} not in /metrics"
    return float(m.group(1))


def test_a_model_returning_other_row_counts_fails_every_caller(
    tmp_path: Path, server_factory: Any
) -> None:
    def first_row_only(x: Any) -> Any:
        return x[:1]

    path = tmp_path / "bad"
    landmark.save_model(first_row_only, path, sample_input=[1.0], methods=["__call__"])
    s = server_factory([str(path), "--trust", "--batch", "*:64:50"])
    results: list[tuple[int, str]] = []
    barrier = threading.Barrier(4)

    def call(n: int) -> None:
        with s.client() as c:
            barrier.wait()
            r = c.post("/predict", json=[float(i) for i in range(n)])
            results.append((r.status_code, r.text))

    threads = [threading.Thread(target=call, args=(n,)) for n in (2, 3, 2, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 4
    for status, text in results:
        assert status == 500
        assert "returned 1 rows for a batch of" in text
        assert "predictions" not in text


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_batcher_splits_arrays_and_frames_back() -> None:
    calls: list[int] = []

    def model(x: Any) -> Any:
        calls.append(len(x))
        return np.asarray(x) * 10

    async def go() -> list[Any]:
        b = Batcher(model, BatchConfig(max_batch=100, max_wait=0.05))
        parts = [np.arange(n, dtype=float) + n * 100 for n in (1, 4, 2)]
        out = await asyncio.gather(*(b.submit(p) for p in parts))
        await b.close()
        return [parts, out]

    parts, out = _run(go())
    assert calls == [7]
    for p, o in zip(parts, out, strict=True):
        assert np.array_equal(o, p * 10)

    import pandas as pd

    a, b2 = frame(2, 1), frame(3, 2)
    merged = concat([a, b2])
    pieces = split(merged, [2, 3])
    pd.testing.assert_frame_equal(pieces[0], a)
    pd.testing.assert_frame_equal(pieces[1], b2.reset_index(drop=True))


def _echo() -> tuple[list[int], Any]:
    """A model that answers its input, and the row counts of its calls."""
    calls: list[int] = []

    def model(x: Any) -> Any:
        calls.append(len(x))
        return x

    return calls, model


def test_batcher_caps_rows_and_runs_big_requests_alone() -> None:
    seen, model = _echo()

    async def go() -> None:
        b = Batcher(model, BatchConfig(max_batch=4, max_wait=0.05))
        await asyncio.gather(*(b.submit([1.0] * n) for n in (3, 3, 10, 1)))
        await b.close()

    _run(go())
    assert seen.count(10) == 1  # larger than a batch: alone
    assert all(n <= 4 for n in seen if n != 10)
    assert sum(seen) == 17


def test_batcher_errors_reach_every_caller() -> None:
    def model(x: Any) -> Any:
        raise ValueError("boom")

    async def go() -> list[Any]:
        b = Batcher(model, BatchConfig(max_batch=10, max_wait=0.05))
        out = await asyncio.gather(
            *(b.submit([1.0, 2.0]) for _ in range(3)), return_exceptions=True
        )
        await b.close()
        return out

    out = _run(go())
    assert all(isinstance(e, ValueError) for e in out)
    with pytest.raises(BatchError, match="returned 1 rows for a batch of 3"):
        split(np.zeros(1), [1, 2])


def test_a_lone_caller_after_a_lone_batch_does_not_wait() -> None:
    # The first request waits (nothing is known yet); after a lone batch the next lone caller
    # runs at once: with a minute's max_wait, a batcher that waited would time out here.
    calls, model = _echo()

    async def sequential() -> None:
        b = Batcher(model, BatchConfig(max_batch=4, max_wait=0.05))
        await b.submit([1.0])
        b.config = BatchConfig(max_batch=4, max_wait=60.0)
        for _ in range(5):
            await asyncio.wait_for(b.submit([1.0]), 10)
        await b.close()

    _run(sequential())
    assert calls == [1] * 6


def test_after_a_merged_batch_a_caller_waits_for_company() -> None:
    calls, model = _echo()

    async def go() -> None:
        b = Batcher(model, BatchConfig(max_batch=8, max_wait=2.0))
        await asyncio.gather(b.submit([1.0]), b.submit([2.0]))  # merged: company was seen

        async def later() -> Any:
            await asyncio.sleep(0.05)
            return await b.submit([4.0])

        await asyncio.gather(b.submit([3.0]), later())
        await b.close()

    _run(go())
    assert calls == [2, 2]
