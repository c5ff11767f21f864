"""Work over many files on a thread pool, in chunks, reporting progress per chunk."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from ..progress import Progress
from .hashing import default_jobs

T = TypeVar("T")
R = TypeVar("R")


def run_chunks(
    items: Sequence[T],
    work: Callable[[T], R],
    jobs: int | None,
    progress: Progress | None = None,
    size_of: Callable[[T], int] | None = None,
    phase: str = "",
) -> list[R]:
    """``work`` over ``items`` on a thread pool, in chunks (a future per 1 KiB file would cost
    more than its md5), order kept; ``progress`` hears of each chunk: its items, and its bytes
    by ``size_of``."""
    jobs = default_jobs() if jobs is None else max(1, jobs)
    if progress is not None:
        progress.start(len(items), sum(map(size_of, items)) if size_of else 0, phase)

    def chunk_work(chunk: Sequence[T]) -> list[R]:
        done = [work(item) for item in chunk]
        if progress is not None:
            progress.advance(len(chunk), sum(map(size_of, chunk)) if size_of else 0)
        return done

    if jobs == 1 or len(items) < 2:
        return chunk_work(items)
    from concurrent.futures import ThreadPoolExecutor

    size = max(1, min(512, len(items) // (jobs * 4)))
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    with ThreadPoolExecutor(max_workers=min(jobs, len(chunks))) as pool:
        return [r for part in pool.map(chunk_work, chunks) for r in part]


__all__ = ["run_chunks"]
