"""Progress-bar test helpers: capture stdout on a real terminal, and the recordings' ticking clock."""
import os
import sys
import threading
import tty
import types

import pymodel.progbar as progbar_module


def on_terminal(run) -> bytes:
    """Calls `run()` with stdout on a raw pseudo-terminal; returns the bytes written."""
    master, slave = os.openpty()
    tty.setraw(slave)
    chunks = []

    def read():
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    saved, sys.stdout = sys.stdout, open(slave, "w", closefd=False)
    try:
        run()
        sys.stdout.flush()
    finally:
        sys.stdout = saved
        os.close(slave)
        reader.join(5)
        os.close(master)
    return b"".join(chunks)


def use_ticking_clock(monkeypatch, tick: float) -> None:
    """Makes the progress bar's clock advance by `tick` seconds at each reading, as recorded."""
    now = [0.0]
    monkeypatch.setattr(progbar_module, "time",
                        types.SimpleNamespace(time=lambda: now.__setitem__(0, now[0] + tick) or now[0]))
