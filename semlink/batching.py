"""Dynamic batching: gather concurrent items into one model call (max batch, max delay, bounded queue).

Both ends batch with it: the receiver its task requests, the transmitter its images.
``submit`` enqueues one item and awaits its result (``enqueue`` queues it at once and
returns the future). A single worker takes the first waiting item, keeps collecting
until ``max_batch`` items or ``max_delay_s`` after that first one, and runs
``run_batch`` on the whole list in an executor thread, so the event loop stays free.
When ``queue_size`` items already wait, or (with ``max_bytes`` and ``size_of``) the
items waiting or in a batch hold ``max_bytes`` already, a new item is refused with
:class:`Overloaded` at once instead of queueing without bound; one item always fits
when nothing is held. When a batch fails, its items are run again one by one, so only
the item that breaks ``run_batch`` fails (with its own error) and the others are
answered. ``deliver(items, results)``, when given, is awaited after each batch before
the next is collected: a stage that must take results in order (the transmitter's
sender) holds the batcher back while it is busy.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class Overloaded(RuntimeError):
    """The batcher's queue is full; the caller should retry later."""


@dataclass(frozen=True)
class BatchTiming:
    """How long one item waited in the queue, how long its batch computed, and the batch size."""

    queue_s: float
    compute_s: float
    batch_size: int


@dataclass
class _Job(Generic[T, R]):
    item: T
    future: asyncio.Future
    enqueued: float


class DynamicBatcher(Generic[T, R]):
    """Batch ``submit``-ted items into calls of ``run_batch(items) -> results`` (same order, same length).

    ``on_batch(timings)`` (optional) is called on the event loop after each batch,
    with one :class:`BatchTiming` per item, for metrics.
    """

    def __init__(self, run_batch: Callable[[Sequence[T]], Sequence[R]], *, max_batch: int, max_delay_s: float,
                 queue_size: int, max_bytes: int | None = None, size_of: Callable[[T], int] | None = None,
                 executor: Executor | None = None, on_batch: Callable[[list[BatchTiming]], None] | None = None,
                 deliver: Callable[[list[T], list[R]], Awaitable[None]] | None = None):
        if max_batch < 1 or queue_size < 1 or max_delay_s < 0:
            raise ValueError(
                f"need max_batch >= 1, queue_size >= 1, max_delay_s >= 0; got {max_batch}, {queue_size}, {max_delay_s}"
            )
        if (max_bytes is None) != (size_of is None) or (max_bytes is not None and max_bytes < 1):
            raise ValueError(f"a byte bound needs both max_bytes >= 1 and size_of; got {max_bytes}, {size_of}")
        self.run_batch = run_batch
        self.max_batch = max_batch
        self.max_delay_s = max_delay_s
        self.queue_size = queue_size
        self.max_bytes = max_bytes
        self.size_of = size_of
        self.executor = executor
        self.on_batch = on_batch
        self.deliver = deliver
        self.held_bytes = 0
        """``size_of`` summed over the items waiting or in a batch."""
        self.batches = 0
        self.largest_batch = 0
        self._jobs: deque[_Job] = deque()
        self._arrived = asyncio.Event()
        self._worker: asyncio.Task | None = None

    @property
    def running(self) -> bool:
        return self._worker is not None and not self._worker.done()

    @property
    def waiting(self) -> int:
        return len(self._jobs)

    def start(self) -> None:
        """Start the worker on the running event loop."""
        if self.running:
            return
        self._worker = asyncio.create_task(self._work(), name="dynamic-batcher")

    async def stop(self) -> None:
        """Stop the worker; items still waiting fail with :class:`Overloaded`."""
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None
        while self._jobs:
            job = self._jobs.popleft()
            if not job.future.done():
                job.future.set_exception(Overloaded("the server is shutting down; retry on another replica"))

    def has_room(self, nbytes: int = 0) -> bool:
        """Whether an item of ``nbytes`` would be queued now."""
        if len(self._jobs) >= self.queue_size:
            return False
        return self.max_bytes is None or self.held_bytes == 0 or self.held_bytes + nbytes <= self.max_bytes

    def reserve(self, nbytes: int) -> int:
        """Hold ``nbytes`` of the byte bound for an item still being made (an upload about to be decoded: check
        :meth:`has_room` first); hand the reservation to :meth:`enqueue`, or give it back with :meth:`release`."""
        self.held_bytes += nbytes
        return nbytes

    def release(self, nbytes: int) -> None:
        """Give back a reservation that no item took."""
        self.held_bytes -= nbytes

    def enqueue(self, item: T, reserved: int = 0) -> asyncio.Future:
        """Queue ``item`` now; returns the future of its ``(result, BatchTiming)``. Raises :class:`Overloaded`
        when the batcher is not running, its queue is full, or ``item`` would go past ``max_bytes``.
        ``reserved`` bytes from :meth:`reserve` become the item's own (its room was checked then)."""
        if not self.running:
            raise Overloaded("the batcher is not running (starting up or shutting down); retry shortly")
        if len(self._jobs) >= self.queue_size:
            raise Overloaded(f"{self.queue_size} requests already wait for the model; retry shortly")
        size = self.size_of(item) if self.size_of is not None else 0
        if not reserved and not self.has_room(size):
            raise Overloaded(f"{self.held_bytes / 2**20:.1f} MiB already wait for the model (max_bytes "
                             f"{self.max_bytes / 2**20:.1f} MiB); retry shortly or send smaller items")
        future = asyncio.get_running_loop().create_future()
        self.held_bytes += size - reserved
        future.add_done_callback(lambda _: self.release(size))
        self._jobs.append(_Job(item, future, time.perf_counter()))
        self._arrived.set()
        return future

    async def submit(self, item: T) -> tuple[R, BatchTiming]:
        """Queue ``item`` and wait for its result; raise :class:`Overloaded` when there is no room."""
        return await self.enqueue(item)

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = await self._collect()
            failed = await self._run(loop, jobs)
            if failed is not None and len(jobs) > 1:  # so that only the request that breaks the model fails
                log.warning("batch of %d failed (%s: %s); answering its requests one by one", len(jobs),
                            type(failed).__name__, failed)
                for job in jobs:
                    self._fail([job], await self._run(loop, [job]))
            else:
                self._fail(jobs, failed)

    async def _run(self, loop: asyncio.AbstractEventLoop, jobs: list[_Job]) -> Exception | None:
        """Run ``jobs`` as one batch and answer their callers; on failure return the error, answering none."""
        jobs = [j for j in jobs if not j.future.done()]  # a caller that gave up cancelled its future
        if not jobs:
            return None
        started = time.perf_counter()
        try:
            results = await loop.run_in_executor(self.executor, self.run_batch, [j.item for j in jobs])
            if len(results) != len(jobs):
                raise RuntimeError(f"run_batch returned {len(results)} results for {len(jobs)} items")
        except Exception as err:  # a failed batch fails its callers, never the worker
            return err
        compute = time.perf_counter() - started
        timings = [BatchTiming(started - j.enqueued, compute, len(jobs)) for j in jobs]
        self.batches += 1
        self.largest_batch = max(self.largest_batch, len(jobs))
        for j, result, timing in zip(jobs, results, timings):
            if not j.future.done():
                j.future.set_result((result, timing))
        if self.on_batch is not None:
            self.on_batch(timings)
        if self.deliver is not None:
            try:
                await self.deliver([j.item for j in jobs], list(results))
            except Exception:  # a failed delivery is the deliverer's to report; the worker goes on
                log.exception("delivering a batch of %d failed", len(jobs))
        return None

    @staticmethod
    def _fail(jobs: list[_Job], err: Exception | None) -> None:
        if err is None:
            return
        log.warning("request failed: %s: %s", type(err).__name__, err)
        for j in jobs:
            if not j.future.done():
                j.future.set_exception(err)

    async def _collect(self) -> list[_Job]:
        while not self._jobs:
            self._arrived.clear()
            await self._arrived.wait()
        jobs = [self._jobs.popleft()]
        deadline = time.perf_counter() + self.max_delay_s
        while len(jobs) < self.max_batch:
            if self._jobs:
                jobs.append(self._jobs.popleft())
                continue
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                break
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                break
        return jobs
