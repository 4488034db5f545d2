"""Keep a training step atomic with respect to Ctrl-C.

A step updates every weight with one C call per variable; a KeyboardInterrupt
between two of those calls would leave the model half-updated. While
:func:`guarded` is active (``fit`` holds it for its whole run), a SIGINT that
arrives inside :func:`deferred` is held back and raised as KeyboardInterrupt
once the step is complete, so after Ctrl-C every weight comes from the same
completed step. Outside a step it interrupts at once, as usual.

Signals are only delivered to the main thread, so only steps run there are
guarded; the per-step cost is two attribute writes.
"""
from __future__ import annotations

import contextlib
import signal
import threading


class _State:
    installed = False  # our handler is the SIGINT handler
    busy = False       # the main thread is inside a step
    pending = False    # a SIGINT arrived during that step


_STATE = _State()


def _handler(signum, frame):
    if _STATE.busy:
        _STATE.pending = True
    else:
        raise KeyboardInterrupt


@contextlib.contextmanager
def guarded():
    """Install the deferring SIGINT handler for a block (a no-op off the main thread,
    when already installed, or when the user has a SIGINT handler of their own)."""
    if (_STATE.installed or threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    signal.signal(signal.SIGINT, _handler)
    _STATE.installed, _STATE.pending = True, False
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _STATE.installed = _STATE.busy = False


@contextlib.contextmanager
def held():
    """A block (a step, or epochs trained in one call with their History records) during
    which a SIGINT is held back, to be raised as KeyboardInterrupt once the block is done."""
    if not _STATE.installed or threading.current_thread() is not threading.main_thread():
        yield
        return
    _STATE.busy = True
    try:
        yield
    finally:  # if the block itself raised, that exception already interrupts
        _STATE.busy = False
        pending, _STATE.pending = _STATE.pending, False
    if pending:
        raise KeyboardInterrupt


def deferred(step, *args):
    """``step(*args)``; a SIGINT that arrives meanwhile is raised only after it returns."""
    if (not _STATE.installed and threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
        with guarded():  # a lone step (train_on_batch): guard just this call
            return deferred(step, *args)
    with held():
        return step(*args)
