"""Dropout kernels and the xoshiro256** state against a plain-Python reference."""
import numpy as np
import pytest

from pymodel._native import dropout

MASK64 = (1 << 64) - 1
DTYPES = [np.float32, np.float64]


def splitmix64_state(seed):
    out = []
    for _ in range(4):
        seed = (seed + 0x9E3779B97F4A7C15) & MASK64
        z = seed
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        out.append(z ^ (z >> 31))
    return out


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & MASK64


def xoshiro_uniforms(state, n):
    s = list(state)
    out = []
    for _ in range(n):
        result = (rotl((s[1] * 5) & MASK64, 7) * 9) & MASK64
        t = (s[1] << 17) & MASK64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        out.append((result >> 11) * 2.0 ** -53)
    return np.array(out), s


def test_seeding_is_splitmix64():
    assert dropout.Rng(42).state == tuple(splitmix64_state(42))
    assert dropout.Rng(2**64 - 1).state == tuple(splitmix64_state(2**64 - 1))


@pytest.mark.parametrize("dtype", DTYPES)
def test_mask_follows_the_xoshiro256starstar_stream(dtype):
    rng = dropout.Rng(7)
    x = np.random.default_rng(0).normal(size=(3, 37)).astype(dtype)
    x0 = x.copy()
    y, mask = dropout.forward(x, 0.4, rng, mask=np.full_like(x, np.nan), y=np.full_like(x, np.nan))
    u, s = xoshiro_uniforms(splitmix64_state(7), x.size)
    expected = np.where(u >= 0.4, dtype(1 / (1 - 0.4)), dtype(0)).reshape(x.shape)
    np.testing.assert_array_equal(mask, expected)
    np.testing.assert_array_equal(y, x * expected)
    assert rng.state == tuple(s)
    np.testing.assert_array_equal(x, x0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_mask_values_and_drop_fraction_match_the_rate(rate, dtype):
    x = np.ones(100_000, dtype)
    _, mask = dropout.forward(x, rate, dropout.Rng(123))
    scale = dtype(1 / (1 - rate))
    assert set(np.unique(mask)) <= {dtype(0), scale}
    dropped = np.mean(mask == 0)
    sigma = np.sqrt(rate * (1 - rate) / x.size)
    assert abs(dropped - rate) < 5 * sigma


def test_same_seed_gives_the_same_mask_and_different_seeds_do_not():
    x = np.ones((8, 16))
    a = dropout.forward(x, 0.5, dropout.Rng(1))[1]
    b = dropout.forward(x, 0.5, dropout.Rng(1))[1]
    c = dropout.forward(x, 0.5, dropout.Rng(2))[1]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_float32_and_float64_draw_the_same_mask_pattern():
    m32 = dropout.forward(np.ones(500, np.float32), 0.3, dropout.Rng(5))[1]
    m64 = dropout.forward(np.ones(500), 0.3, dropout.Rng(5))[1]
    np.testing.assert_array_equal(m32 == 0, m64 == 0)


def test_consecutive_calls_advance_the_state_and_reseeding_restarts_it():
    rng = dropout.Rng(9)
    x = np.ones(64)
    first = dropout.forward(x, 0.5, rng)[1]
    second = dropout.forward(x, 0.5, rng)[1]
    assert not np.array_equal(first, second)
    rng.seed(9)
    np.testing.assert_array_equal(dropout.forward(x, 0.5, rng)[1], first)


@pytest.mark.parametrize("dtype", DTYPES)
def test_rate_zero_is_the_identity_with_an_all_ones_mask(dtype):
    x = np.random.default_rng(1).normal(size=(5, 7)).astype(dtype)
    y, mask = dropout.forward(x, 0.0, dropout.Rng(3), mask=np.full_like(x, np.nan))
    np.testing.assert_array_equal(mask, np.ones_like(x))
    np.testing.assert_array_equal(y, x)


@pytest.mark.parametrize("dtype", DTYPES)
def test_backward_is_dy_times_mask(dtype):
    gen = np.random.default_rng(2)
    x, dy = gen.normal(size=(4, 9)).astype(dtype), gen.normal(size=(4, 9)).astype(dtype)
    _, mask = dropout.forward(x, 0.25, dropout.Rng(4))
    dy0 = dy.copy()
    dx = dropout.backward(mask, dy, out=np.full_like(dy, np.nan))
    np.testing.assert_array_equal(dx, dy * mask)
    np.testing.assert_array_equal(dy, dy0)
    assert dropout.backward(mask, dy, out=dy) is dy
    np.testing.assert_array_equal(dy, dy0 * mask)


def test_forward_may_overwrite_x():
    x = np.arange(1.0, 21.0)
    expected_y, expected_mask = dropout.forward(x, 0.5, dropout.Rng(11))
    y, mask = dropout.forward(x, 0.5, dropout.Rng(11), y=x)
    assert y is x
    np.testing.assert_array_equal(x, expected_y)
    np.testing.assert_array_equal(mask, expected_mask)


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, float("nan"), "0.5", True])
def test_rate_outside_zero_one_is_refused(rate):
    with pytest.raises(ValueError, match="rate"):
        dropout.forward(np.ones(3), rate, dropout.Rng(0))


@pytest.mark.parametrize("seed", [-1, 2**64, 1.5, "3"])
def test_bad_seeds_are_refused(seed):
    with pytest.raises(ValueError, match="seed"):
        dropout.Rng(seed)


def test_arguments_are_validated():
    x = np.ones((2, 3))
    rng = dropout.Rng(0)
    with pytest.raises(TypeError, match="rng"):
        dropout.forward(x, 0.5, 0)
    with pytest.raises(TypeError, match="mask must have dtype float64"):
        dropout.forward(x, 0.5, rng, mask=np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"y must have shape \(2, 3\)"):
        dropout.forward(x, 0.5, rng, y=np.ones(6))
    with pytest.raises(ValueError, match="mask must not overlap x"):
        dropout.forward(x, 0.5, rng, mask=x)
    with pytest.raises(ValueError, match="out must not overlap mask"):
        dropout.backward(x, x.copy(), out=x)
    with pytest.raises(ValueError, match="dy must be C-contiguous"):
        dropout.backward(x.T.copy(), x.T)
    with pytest.raises(ValueError, match="state"):
        rng.state = (0, 0, 0, 0)
