"""Batches collated ahead of the device: one background thread, in order, into pinned memory.

The training loop and ``predict`` hand a generator of work items to ``Prefetcher``; a single
worker thread runs it (collating on the CPU while the device computes) and a bounded queue keeps
at most ``depth`` items ahead. One worker and a FIFO queue keep the order exactly as without
prefetching, so results do not depend on it. On CUDA the collated tensors are pinned, so that
``to_device(..., non_blocking=True)`` copies overlap with compute.

A collate that draws random numbers from torch's global generator (masked-LM masking) must not
run on the worker: it would interleave with the main thread's dropout draws in a racy order,
and a resume state would record a generator already advanced by batches not yet trained.
``collate_draws_random`` finds such collates once per stream (restoring the generator), and the
loop collates those on the main thread, in step order, as before.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch

_DONE = object()


def collate_draws_random(collate: Callable[[Sequence[dict]], Any], sample: Sequence[dict]) -> bool:
    """Whether ``collate(sample)`` draws from torch's global CPU generator (side-effect free)."""
    if not sample:
        return False
    before = torch.get_rng_state()
    collate(sample)
    after = torch.get_rng_state()
    torch.set_rng_state(before)
    return not torch.equal(before, after)


def pin(batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.pin_memory() for k, v in batch.items()}


def to_device(batch: Mapping[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    """Copies to ``device``; asynchronous from pinned memory on CUDA (a no-op copy on CPU)."""
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


class Prefetcher:
    """Iterates ``items`` (a generator run on a worker thread), ``depth`` items ahead.

    Exceptions raised by the generator re-raise in the consumer. ``wait_s`` is the time the
    consumer spent blocked waiting for an item (the device starving for data). ``close()``
    stops the worker early (the consumer stopped before the end).
    """

    def __init__(self, items: Iterator[Any], depth: int = 2):
        self._items = items
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self.wait_s = 0.0
        self._thread = threading.Thread(target=self._work, name="xtransfer-prefetch", daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _work(self) -> None:
        try:
            for item in self._items:
                if not self._put((item, None)):
                    return
        except BaseException as error:  # handed to the consumer, which re-raises it
            self._put((None, error))
            return
        self._put((_DONE, None))

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        start = time.perf_counter()
        item, error = self._queue.get()
        self.wait_s += time.perf_counter() - start
        if error is not None:
            self.close()
            raise error
        if item is _DONE:
            self.close()
            raise StopIteration
        return item

    def close(self) -> None:
        self._stop.set()
        # Unblock a worker waiting on a full queue, then let it finish.
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout=5)

    def __enter__(self) -> Prefetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def prefetch_wanted(setting: Any, device_type: str) -> bool:
    """``trainer.prefetch``: auto (on CUDA only), true or false."""
    if setting is None or str(setting).lower() == "auto":
        return device_type == "cuda"
    return bool(setting)
