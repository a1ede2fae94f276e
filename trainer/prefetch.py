"""Background batch preparation: a thread fills a bounded queue, pinning host memory for the copy.

``PrefetchLoader(loader)`` wraps any loader with ``__iter__``, ``state_dict`` and ``load_state_dict``
(``PackedLoader``, ``SyntheticLoader``). The thread reads up to ``depth`` batches ahead; with each
batch it records the wrapped loader's state right after producing it, and ``state_dict()`` returns
the state of the last batch *handed out*, so a checkpoint resumes at the batches actually consumed,
never at the ones waiting in the queue.
"""

from __future__ import annotations

import copy
import queue
import threading
from collections.abc import Iterator
from typing import Any

import torch

_STOP_POLL_S = 0.1


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class PrefetchLoader:
    def __init__(self, loader: Any, depth: int = 2, pin_memory: bool = False) -> None:
        if depth < 1:
            raise ValueError(f"prefetch depth must be >= 1, got {depth}")
        self.loader = loader
        self.depth = depth
        self.pin_memory = pin_memory
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._state: dict[str, Any] | None = None

    # ---- state -----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The wrapped loader's state after the last batch this wrapper returned."""
        if self._state is None:
            return self.loader.state_dict()
        return copy.deepcopy(self._state)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.close()
        self.loader.load_state_dict(state)
        self._state = None

    # ---- iteration -------------------------------------------------------------------------------
    def _start(self) -> None:
        self._state = copy.deepcopy(self.loader.state_dict())
        self._stop.clear()
        self._queue = queue.Queue(maxsize=self.depth)
        self._thread = threading.Thread(target=self._work, name="batch-prefetch", daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_STOP_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _work(self) -> None:
        try:
            for batch in self.loader:
                state = copy.deepcopy(self.loader.state_dict())
                if self.pin_memory:
                    batch = {k: v.pin_memory() if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
                if not self._put((batch, state)):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            self._put(_Failure(exc))

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        return self

    def __next__(self) -> dict[str, torch.Tensor]:
        if self._thread is None:
            self._start()
        while True:
            try:
                item = self._queue.get(timeout=_STOP_POLL_S)
                break
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    raise StopIteration from None
        if isinstance(item, _Failure):
            self.close()
            raise item.exc
        batch, self._state = item
        return batch

    def next_batch(self) -> dict[str, torch.Tensor]:
        return next(self)

    def close(self) -> None:
        """Stop the thread and drop prefetched batches (the state stays at the consumed ones)."""
        if self._thread is None:
            return
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get_nowait()
            except queue.Empty:
                self._thread.join(timeout=_STOP_POLL_S)
        self._thread = None
        self._queue = None
        if self._state is not None:  # rewind past the dropped batches
            self.loader.load_state_dict(copy.deepcopy(self._state))
