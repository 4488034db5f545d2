"""Keras ``utils``: the random seed pymodel models draw from, and re-exports.

Randomness: a model's generator (initializers, shuffling, dropout seeds) is
created when the model is built. It is seeded from :func:`set_random_seed` if
that was called, else from NumPy's global state (so ``np.random.seed(42)``
before building makes a run reproducible, as the seed notebook expects).
Training uses only the model's own generator, so models built one after the
other can then be trained in parallel threads with the same results; building
them in parallel threads draws their seeds in whatever order the threads run.
"""
from __future__ import annotations

import random
import threading

import numpy as np

_SEED: list = [None]
_SPAWN_LOCK = threading.Lock()

try:  # the progress bar lives in pymodel/progbar.py
    from pymodel.progbar import Progbar  # noqa: F401
except ImportError:  # pragma: no cover - before that module exists
    pass


def to_categorical(y, num_classes: int | None = None, dtype: str = "float32") -> np.ndarray:
    """One-hot encode integer class labels (Keras's ``utils.to_categorical``)."""
    y = np.asarray(y, dtype="int64")
    shape = y.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    y = y.reshape(-1)
    num_classes = int(num_classes or (y.max() + 1 if y.size else 0))
    out = np.zeros((y.size, num_classes), dtype=dtype)
    out[np.arange(y.size), y] = 1
    return out.reshape(shape + (num_classes,))


def set_random_seed(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global state and pymodel's model generators."""
    if not isinstance(seed, (int, np.integer)):
        raise ValueError(f"Expected `seed` argument to be an integer. Received: seed={seed}")
    random.seed(int(seed))
    np.random.seed(int(seed))
    _SEED[0] = np.random.SeedSequence(int(seed))


def make_generator() -> np.random.Generator:
    """A new generator: from the explicit seed sequence, else from NumPy's global state."""
    with _SPAWN_LOCK:  # SeedSequence.spawn counts its children: one at a time
        if _SEED[0] is not None:
            return np.random.default_rng(_SEED[0].spawn(1)[0])
        return np.random.default_rng(np.random.randint(0, 2**31 - 1, size=4))
