"""Sentences of concurrent requests synthesized together: a bounded queue in front of one model call at a time."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import time
from collections.abc import Callable
from typing import Any


class Overloaded(Exception):
    """The queue is full: the caller answers 503 rather than letting memory grow."""


@dataclasses.dataclass
class _Item:
    value: Any
    future: asyncio.Future
    queued: float


class Batcher:
    """`run(values) -> results` called on batches of up to `max_batch` queued values, one batch at a time on its own
    thread, so the event loop keeps answering while the model works. At most `max_queue` values wait.

    KServe batches requests in its agent sidecar, which a standalone server or a laptop does not have; the model
    gains from a batch (one decoding loop for all its sentences), so the server batches in process.
    """

    def __init__(self, run: Callable[[list[Any]], list[Any]], max_batch: int = 8, max_delay_s: float = 0.005,
                 max_queue: int = 64):
        self.run = run
        self.max_batch = max_batch
        self.max_delay_s = max_delay_s
        self.max_queue = max_queue
        self.batches = 0
        self._queue: asyncio.Queue[_Item] | None = None
        self._worker: asyncio.Task | None = None
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="synthesis")

    @property
    def waiting(self) -> int:
        return self._queue.qsize() if self._queue is not None else 0

    def submit(self, values: list[Any]) -> list[asyncio.Future]:
        """One future per value, in order; Overloaded (nothing queued) when they do not all fit."""
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._worker = asyncio.get_running_loop().create_task(self._work())
        if self._queue.qsize() + len(values) > self.max_queue:
            raise Overloaded(f"{self._queue.qsize()} sentences are waiting (at most {self.max_queue}); retry later")
        loop = asyncio.get_running_loop()
        items = [_Item(value, loop.create_future(), time.monotonic()) for value in values]
        for item in items:
            self._queue.put_nowait(item)
        return [item.future for item in items]

    async def submit_when_room(self, values: list[Any]) -> list[asyncio.Future]:
        """As submit, but waits for room instead of refusing: for the rest of a request already admitted."""
        while True:
            try:
                return self.submit(values)
            except Overloaded:
                await asyncio.sleep(0.02)

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            deadline = loop.time() + self.max_delay_s
            while len(batch) < self.max_batch:
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), max(0.0, deadline - loop.time())))
                except TimeoutError:
                    break
            batch = [item for item in batch if not item.future.cancelled()]
            if not batch:
                continue
            self.batches += 1
            try:
                results = await loop.run_in_executor(self._executor, self.run, [item.value for item in batch])
            except Exception as error:  # the batch's requests answer with it; the server keeps serving
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(error)
                continue
            for item, result in zip(batch, results, strict=True):
                if not item.future.done():
                    item.future.set_result(result)
