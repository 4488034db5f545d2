"""Shared references for the windowed kernel tests (convolution, pooling): TensorFlow's per-axis
geometry and central differences."""
import numpy as np


def tf_axis(size, k, stride, padding, dilation=1):
    """(out, pad_before) of one axis, restated from TensorFlow's conv/pooling ops and Keras's conv_utils."""
    span = (k - 1) * dilation + 1
    if padding == "valid":
        return (size - span + stride) // stride, 0
    out = (size + stride - 1) // stride
    if padding == "causal":
        return out, span - 1
    return out, max((out - 1) * stride + span - size, 0) // 2


def numeric_grad(f, arr, eps=1e-6):
    """Central differences of scalar f() with respect to every element of arr (changed in place)."""
    g = np.zeros_like(arr)
    flat, gflat = arr.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        keep = flat[i]
        flat[i] = keep + eps
        up = f()
        flat[i] = keep - eps
        down = f()
        flat[i] = keep
        gflat[i] = (up - down) / (2 * eps)
    return g
