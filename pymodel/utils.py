"""Keras ``utils``: the random seed pymodel models draw from, and re-exports.

Randomness: a model's generator (initializers, shuffling, dropout seeds) is
created when the model is built. It is seeded from :func:`set_random_seed` if
that was called, else from NumPy's global state (so ``np.random.seed(42)``
before building makes a run reproducible, as the seed notebook expects).
"""
from __future__ import annotations

import random

import numpy as np

_SEED: list = [None]

try:  # the progress bar lives in pymodel/progbar.py
    from pymodel.progbar import Progbar  # noqa: F401
except ImportError:  # pragma: no cover - before that module exists
    pass


def set_random_seed(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global state and pymodel's model generators."""
    if not isinstance(seed, (int, np.integer)):
        raise ValueError(f"Expected `seed` argument to be an integer. Received: seed={seed}")
    random.seed(int(seed))
    np.random.seed(int(seed))
    _SEED[0] = np.random.SeedSequence(int(seed))


def make_generator() -> np.random.Generator:
    """A new generator: from the explicit seed sequence, else from NumPy's global state."""
    if _SEED[0] is not None:
        return np.random.default_rng(_SEED[0].spawn(1)[0])
    return np.random.default_rng(np.random.randint(0, 2**31 - 1, size=4))
