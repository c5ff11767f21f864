"""Adaptive batching: concurrent requests to one method become one call of the model.

Requests queue up; the batcher takes the first, then more until the batch holds
``max_batch`` rows or ``max_wait`` seconds have passed since the first arrived (it waits only
while there is a sign of company: requests already queued, or a last batch that merged
several; a lone caller after a lone batch runs at once, so batching costs nothing at low
load and the wait comes back with the first merged batch), concatenates
them along the batch dimension (DataFrames by rows, arrays and tensors on axis 0), runs the
model once in a worker thread and hands each caller its own rows back. A model that answers
with another number of rows than it was given fails every caller of that batch with the same
error: nobody gets an empty or a neighbour's answer. A request larger than ``max_batch`` runs
alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from ..errors import LandmarkError


class BatchError(LandmarkError):
    """The model's answer to a batch cannot be split back into its callers' rows."""

    exit_code = 1


@dataclass(frozen=True)
class BatchConfig:
    max_batch: int = 64  # rows
    max_wait: float = 0.002  # seconds the first request of a batch may wait for others


def rows(data: Any) -> int:
    """Rows of a batch: its first dimension."""
    shape = getattr(data, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    if isinstance(data, (list, tuple)):
        return len(data)
    raise BatchError(f"cannot batch a {type(data).__name__}: it has no rows")


def concat(parts: list[Any]) -> Any:
    first = parts[0]
    mod = type(first).__module__
    if mod.startswith("pandas"):
        import pandas as pd

        return pd.concat(parts, ignore_index=True)
    if mod.startswith("torch"):
        import torch

        return torch.cat(parts, dim=0)
    if mod.startswith("numpy"):
        import numpy as np

        return np.concatenate(parts, axis=0)
    if isinstance(first, list):
        return [x for p in parts for x in p]
    raise BatchError(f"cannot batch a {type(first).__name__}")


def split(result: Any, sizes: list[int]) -> list[Any]:
    """``result`` cut into consecutive pieces of ``sizes`` rows; BatchError when its row
    count is not their sum."""
    total = sum(sizes)
    try:
        got = rows(result)
    except BatchError:
        raise BatchError(
            f"the model returned a {type(result).__name__} for a batch of {total} rows; "
            "serve it without batching"
        ) from None
    if got != total:
        raise BatchError(
            f"the model returned {got} rows for a batch of {total}; serve it without batching"
        )
    pieces = []
    start = 0
    is_frame = hasattr(result, "iloc")
    for n in sizes:
        piece = result.iloc[start : start + n] if is_frame else result[start : start + n]
        if is_frame:
            piece = piece.reset_index(drop=True)
        pieces.append(piece)
        start += n
    return pieces


def _whole(result: Any, size: int) -> Any:
    """A lone request's answer, checked as a batch's would be."""
    split(result, [size])
    return result


@dataclass
class _Pending:
    data: Any
    rows: int
    future: asyncio.Future[Any]
    arrived: float = field(default_factory=time.monotonic)


class Batcher:
    """One queue and one batching loop per served method; ``submit`` from the event loop."""

    def __init__(
        self,
        run: Callable[[Any], Any],
        config: BatchConfig,
        executor: Executor | None = None,
        on_batch: Callable[[int, int], None] | None = None,
    ) -> None:
        self.run = run
        self.config = config
        self.executor = executor
        self.on_batch = on_batch  # (rows, requests) of each batch run
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._last = 0  # requests in the last batch run (0: none yet)

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    async def submit(self, data: Any) -> Any:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._loop())
        pending = _Pending(data, rows(data), loop.create_future())
        await self._queue.put(pending)
        return await pending.future

    async def close(self) -> None:
        """Stop the loop once every queued request has been answered."""
        if self._task is None:
            return
        while not self._queue.empty():
            await asyncio.sleep(0.001)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _loop(self) -> None:
        carry: _Pending | None = None
        while True:
            first = carry or await self._queue.get()
            carry = None
            batch = [first]
            total = first.rows
            deadline = first.arrived + self.config.max_wait
            if self._last == 1 and self._queue.empty():
                deadline = 0.0  # the last caller came alone and nobody waits: run it now
            while total < self.config.max_batch:
                left = deadline - time.monotonic()
                try:
                    nxt = (
                        self._queue.get_nowait()
                        if left <= 0
                        else await asyncio.wait_for(self._queue.get(), left)
                    )
                except (asyncio.QueueEmpty, TimeoutError):
                    break
                if total + nxt.rows > self.config.max_batch:
                    carry = nxt  # it starts the next batch
                    break
                batch.append(nxt)
                total += nxt.rows
            self._last = len(batch)
            await self._run(batch)

    async def _run(self, batch: list[_Pending]) -> None:
        live = [p for p in batch if not p.future.done()]  # a caller may have gone away
        if not live:
            return
        loop = asyncio.get_running_loop()
        sizes = [p.rows for p in live]
        try:
            if len(live) == 1:  # the same check alone as in a batch: answers never
                answer = await loop.run_in_executor(self.executor, self.run, live[0].data)
                results = [_whole(answer, sizes[0])]  # depend on who else was waiting
            else:
                merged = concat([p.data for p in live])
                answer = await loop.run_in_executor(self.executor, self.run, merged)
                results = split(answer, sizes)
        except Exception as e:  # the model's error (or ours): every caller of the batch gets it
            for p in live:
                if not p.future.done():
                    p.future.set_exception(e)
            return
        if self.on_batch is not None:
            self.on_batch(sum(sizes), len(live))
        for p, r in zip(live, results, strict=True):
            if not p.future.done():
                p.future.set_result(r)
