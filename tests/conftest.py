"""Shared test setup: every test leaves pymodel's process-wide random state as it found it."""
import numpy as np
import pytest

from pymodel import utils


@pytest.fixture(autouse=True)
def restore_global_random_state():
    """Tests that seed pymodel's process-wide generator (``utils.set_random_seed``, or the CLI
    doing it for a spec) would otherwise change the draws of tests that do not seed."""
    saved, state = list(utils._SEED), np.random.get_state()
    yield
    utils._SEED[:] = saved
    np.random.set_state(state)
