"""Keep a training step atomic with respect to Ctrl-C.

A step updates every weight with one C call per variable; a KeyboardInterrupt
between two of those calls would leave the model half-updated. ``deferred``
runs the step with SIGINT held back (main thread only, where Python delivers
signals) and re-raises it once the step is complete, so after Ctrl-C every
weight comes from the same completed step.
"""
from __future__ import annotations

import signal
import threading


def deferred(step, *args):
    """``step(*args)``, delivering a SIGINT that arrives meanwhile only after it returns."""
    if threading.current_thread() is not threading.main_thread():
        return step(*args)
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.default_int_handler:  # a user's own handler: leave it alone
        return step(*args)
    caught = []
    signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        result = step(*args)
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt
    return result
