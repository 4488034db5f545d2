"""Cache-line-aligned arrays: what pymodel._native.aligned makes, and which arrays use it."""
import os

import numpy as np
import pytest

import pymodel as keras
from pymodel._native import aligned


@pytest.mark.parametrize("shape", [(784, 512), (3,), 5, (0, 4), (), [2, 3], np.int64(7), (2, 1, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_empty_and_zeros_start_on_a_line_with_numpys_shape(shape, dtype):
    expected = np.empty(shape, dtype)
    for arr in (aligned.empty(shape, dtype), aligned.zeros(shape, dtype)):
        assert arr.shape == expected.shape and arr.dtype == expected.dtype
        assert arr.flags.c_contiguous and arr.flags.writeable
        assert arr.size == 0 or arr.ctypes.data % aligned.LINE == 0
    assert not aligned.zeros(shape, dtype).any()


def test_array_copies_values_into_an_aligned_buffer():
    src = np.arange(12, dtype=np.float64).reshape(3, 4)[:, ::2]  # not contiguous
    out = aligned.array(src, np.float32)
    np.testing.assert_array_equal(out, src.astype(np.float32))
    assert out.dtype == np.float32 and out.ctypes.data % aligned.LINE == 0
    assert not np.shares_memory(out, src)
    assert aligned.array(2.5, np.float64).shape == ()


def test_bad_shapes_raise_like_numpy():
    with pytest.raises(TypeError):
        aligned.empty((2.5, 3), np.float32)
    with pytest.raises(ValueError):
        aligned.empty((-1, 3), np.float32)


def _resident_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_zeros_leaves_its_pages_untouched_until_written_like_numpy():
    """Zero arrays that are never written (Adam's amsgrad slots without amsgrad) cost no resident memory."""
    before = _resident_mb()
    big = aligned.zeros(64 << 20, np.uint8)
    assert _resident_mb() - before < 16
    big[:: 1 << 12] = 1  # one byte per page: now they are resident
    assert _resident_mb() - before > 48


def test_weights_gradients_slots_and_layer_buffers_are_aligned():
    """Every array the kernels stream during fit starts on a cache line."""
    model = keras.Sequential([keras.layers.Dense(37, activation="relu", input_shape=(19,)),
                              keras.layers.Dropout(0.1), keras.layers.Dense(5, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.random((40, 19), dtype=np.float32)
    y = np.eye(5, dtype=np.float32)[rng.integers(0, 5, 40)]
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    arrays = [w for layer in model.layers for w in layer.weights]
    arrays += [g for layer in model.layers for g in layer.gradients]
    arrays += [s for s in model.optimizer.variables()[1:]]
    buffers = [layer.buffers(16, (19,) if i == 0 else (37,)) for i, layer in enumerate(model.layers)]
    arrays += [v for buf in buffers for v in buf.values() if isinstance(v, np.ndarray) and v.dtype != np.uint8]
    assert len(arrays) > 12
    assert [a.ctypes.data % aligned.LINE for a in arrays] == [0] * len(arrays)
