"""The server's batcher: concurrent sentences share model calls, a full queue refuses at once, a failed batch fails
only its own requests."""

import asyncio
import threading

import pytest

from tacotron.serving.batcher import Batcher, Overloaded


def test_concurrent_values_are_batched_in_order_and_a_full_queue_refuses():
    calls, release = [], threading.Event()

    def run(values):
        calls.append(list(values))
        release.wait(5)
        return [v * 10 for v in values]

    async def scenario():
        batcher = Batcher(run, max_batch=4, max_delay_s=0.01, max_queue=6)
        first = batcher.submit([1])
        await asyncio.sleep(0.05)  # the first batch is running (blocked) and holds [1]
        waiting = batcher.submit([2, 3, 4, 5, 6])
        with pytest.raises(Overloaded, match="at most 6"):
            batcher.submit([7, 8])  # 5 waiting + 2 > 6: nothing of it is queued
        release.set()
        return await asyncio.gather(*first, *waiting), batcher.waiting

    results, waiting = asyncio.run(scenario())
    assert results == [10, 20, 30, 40, 50, 60] and waiting == 0
    assert calls == [[1], [2, 3, 4, 5], [6]]


def test_a_failed_batch_fails_its_requests_and_the_next_batch_runs():
    def run(values):
        if "bad" in values:
            raise RuntimeError("model failed")
        return values

    async def scenario():
        batcher = Batcher(run, max_batch=1)
        bad, good = batcher.submit(["bad"])[0], batcher.submit(["good"])[0]
        with pytest.raises(RuntimeError, match="model failed"):
            await bad
        return await good

    assert asyncio.run(scenario()) == "good"
