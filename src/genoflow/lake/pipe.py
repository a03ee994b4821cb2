"""Read ahead: an iterator's next items produced in a helper thread.

The VCF is parsed (Python + htslib) while delta-rs encodes and uploads the previous batch
(Rust, without the GIL): on two cores the two overlap instead of taking turns. At most
``depth`` items wait in the queue, so memory stays bounded.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetched(source: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Yield ``source``'s items, produced ahead in a thread; its exceptions re-raised here.

    Stopping early (the consumer closes this generator) stops the producer at its next item."""
    items: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in source:
                if not _put(items, item, stop):
                    return
            _put(items, _DONE, stop)
        except BaseException as exc:  # handed to the consumer, raised there
            _put(items, _Failed(exc), stop)

    thread = threading.Thread(target=produce, name="genoflow-lake-read", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()


def _put(items: queue.Queue[object], item: object, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            items.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False
