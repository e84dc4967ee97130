"""Cooperative cancellation of long computations.

A batch sets a ``threading.Event`` when the user cancels; the computation of one
structure runs inside :func:`cancellable` with that event, and its long loops call
:func:`check` between steps of at most a few hundred milliseconds (EQeq's solver
iterations and pair blocks, the reciprocal-space blocks of the CO2 probe, the phases of
a grid). So a cancel stops a structure that is being computed, not only the ones that
have not started. Outside :func:`cancellable`, :func:`check` does nothing.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import Cancelled

_EVENT: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "retvis_cancel", default=None
)


@contextmanager
def cancellable(event: threading.Event | None) -> Iterator[None]:
    """Run the block with ``event`` as the cancel flag of :func:`check` (this thread)."""
    token = _EVENT.set(event)
    try:
        yield
    finally:
        _EVENT.reset(token)


def check() -> None:
    """Raise :class:`~retvis.errors.Cancelled` if the current cancel flag is set."""
    event = _EVENT.get()
    if event is not None and event.is_set():
        raise Cancelled()
