"""pm_gemm against a NumPy float64 reference: size sweep across every block edge, all transposes, all variants."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from pymodel_process import pymodel_env

from pymodel._native import ffi, gemm, lib

DTYPES = [np.float32, np.float64]
TRANS = [(False, False), (False, True), (True, False), (True, True)]
# (m, n, k) crossing the small-path limit (m*n*k = 512), MR +- 1 (4, 6, 8),
# NR +- 1 (8, 16, 32) and NR/2 (half-width tiles), KC +- 1 (256, 512),
# MC (128, 144, 192), the C^T = B A^T limit (m = 64), the in-place B limit
# (m = 256) and NC (2048, 4096); then the thin products of a 10-unit output
# layer (batch x 256 -> 10 and both backward forms), whose narrow B panels
# the masked kernels read in place, and A^T B with n <= 12 (narrow kernels,
# rows of C in vectors), also over KC; and A B with 8 to 10 columns
# (AVX-512's direct kernel: six rows at a time, 16 terms of k, KC blocks).
SIZES = [
    (1, 1, 1), (2, 3, 5), (8, 8, 8), (8, 8, 9), (7, 13, 17), (16, 16, 16),
    (3, 5, 300), (1, 33, 257), (5, 7, 64), (6, 16, 32), (8, 48, 20), (9, 24, 40),
    (7, 17, 33), (11, 31, 255), (12, 32, 256), (13, 33, 257), (14, 47, 100),
    (15, 65, 513), (29, 64, 40), (64, 48, 31), (64, 100, 40), (65, 100, 40), (9, 31, 511), (129, 9, 70),
    (145, 40, 20), (193, 17, 20), (257, 40, 30), (289, 5, 11), (97, 130, 129),
    (2, 2049, 3), (1, 4097, 2),
    (32, 10, 256), (32, 256, 10), (256, 10, 32), (128, 10, 256), (128, 256, 10),
    (256, 10, 128), (256, 10, 256), (256, 256, 10), (13, 10, 40), (20, 41, 30), (300, 3, 50), (40, 12, 1100),
    (33, 13, 20),
    (9, 8, 17), (19, 9, 600), (40, 10, 1100), (61, 10, 33), (14, 8, 1), (13, 9, 15),
]


def supported_variants():
    names = []
    for name in ("portable", "avx2", "avx512"):
        try:
            gemm.set_variant(name)
        except ValueError:
            continue
        names.append(name)
    gemm.set_variant("auto")
    return names


VARIANTS = supported_variants()


def built_with_openmp():
    gemm.set_num_threads(2)
    threaded = gemm.get_num_threads() == 2
    gemm.set_num_threads(0)
    return threaded


OPENMP = built_with_openmp()  # without OpenMP every count reads back as 1


@pytest.fixture(autouse=True)
def restore_defaults():
    yield
    gemm.set_variant("auto")
    gemm.set_num_threads(0)


def operands(rng, m, n, k, ta, tb, dtype):
    a = rng.uniform(-1, 1, (k, m) if ta else (m, k)).astype(dtype)
    b = rng.uniform(-1, 1, (n, k) if tb else (k, n)).astype(dtype)
    return a, b


def reference(a, b, ta, tb, alpha, beta, c0):
    """alpha op(a) op(b) + beta c0 in float64, and an error bound scaled by |terms|."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    a64, b64 = (a64.T if ta else a64), (b64.T if tb else b64)
    ref = alpha * (a64 @ b64)
    scale = abs(alpha) * (np.abs(a64) @ np.abs(b64))
    if beta != 0:
        ref += beta * c0.astype(np.float64)
        scale += abs(beta) * np.abs(c0.astype(np.float64))
    return ref, scale


def same_for_one_and_two_threads(a, b, ta, tb):
    """The product on 2 threads, asserted bitwise equal to the one on 1 thread."""
    gemm.set_num_threads(1)
    one = gemm.gemm(a, b, trans_a=ta, trans_b=tb)
    gemm.set_num_threads(2)
    two = gemm.gemm(a, b, trans_a=ta, trans_b=tb)
    assert one.tobytes() == two.tobytes()
    return two


def assert_close(c, a, b, ta, tb, alpha=1.0, beta=0.0, c0=None):
    ref, scale = reference(a, b, ta, tb, alpha, beta, c0)
    k = a.shape[0] if ta else a.shape[1]
    rtol = (1e-5 if c.dtype == np.float32 else 1e-12) * max(1.0, k / 64)
    err = np.abs(c.astype(np.float64) - ref)
    assert np.all(np.isfinite(c))
    assert np.all(err <= rtol * scale + 1e-30), f"max err {err.max()} vs {rtol * scale.max()}"


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_matches_numpy_over_the_size_sweep(variant):
    gemm.set_variant(variant)
    assert gemm.get_variant() == variant
    rng = np.random.default_rng(1)
    for m, n, k in SIZES:
        for ta, tb in TRANS:
            for dtype in DTYPES:
                a, b = operands(rng, m, n, k, ta, tb, dtype)
                c = np.full((m, n), np.nan, dtype=dtype)
                gemm.gemm(a, b, trans_a=ta, trans_b=tb, c=c)
                assert_close(c, a, b, ta, tb)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("alpha,beta", [(0.5, 0.0), (-1.5, 2.0), (1.0, 1.0), (2.0, -0.25)])
def test_alpha_and_beta_scale_product_and_old_c(dtype, alpha, beta):
    check_alpha_beta(np.random.default_rng(2), [(3, 4, 5), (37, 41, 300), (70, 33, 9), (37, 10, 700)],
                     dtype, alpha, beta)


def check_alpha_beta(rng, sizes, dtype, alpha, beta):
    """c = alpha op(a) op(b) + beta c, in place, for every size and transposition."""
    for m, n, k in sizes:
        for ta, tb in TRANS:
            a, b = operands(rng, m, n, k, ta, tb, dtype)
            c0 = rng.uniform(-1, 1, (m, n)).astype(dtype)
            c = c0.copy()
            out = gemm.gemm(a, b, trans_a=ta, trans_b=tb, alpha=alpha, beta=beta, c=c)
            assert out is c
            assert_close(c, a, b, ta, tb, alpha, beta, c0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_beta_zero_never_reads_c_so_nan_does_not_leak(dtype):
    rng = np.random.default_rng(3)
    for m, n, k in [(2, 3, 4), (50, 70, 90), (13, 33, 600)]:
        a, b = operands(rng, m, n, k, False, False, dtype)
        c = np.full((m, n), np.nan, dtype=dtype)
        gemm.gemm(a, b, c=c, beta=0.0)
        assert np.all(np.isfinite(c))


@pytest.mark.parametrize("dtype", DTYPES)
def test_alpha_zero_or_empty_k_only_scales_c(dtype):
    rng = np.random.default_rng(4)
    a, b = operands(rng, 40, 50, 60, False, False, dtype)
    c0 = rng.uniform(-1, 1, (40, 50)).astype(dtype)
    c = c0.copy()
    gemm.gemm(a, b, alpha=0.0, beta=3.0, c=c)
    np.testing.assert_array_equal(c, c0 * dtype(3.0))
    c = np.full((40, 50), np.nan, dtype=dtype)
    gemm.gemm(np.ones((40, 0), dtype), np.ones((0, 50), dtype), c=c)
    np.testing.assert_array_equal(c, np.zeros((40, 50), dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_inputs_are_left_untouched(dtype):
    rng = np.random.default_rng(5)
    for m, n, k in [(3, 2, 4), (100, 90, 300)]:
        for ta, tb in TRANS:
            a, b = operands(rng, m, n, k, ta, tb, dtype)
            a0, b0 = a.copy(), b.copy()
            gemm.gemm(a, b, trans_a=ta, trans_b=tb)
            np.testing.assert_array_equal(a, a0)
            np.testing.assert_array_equal(b, b0)


def test_results_are_bitwise_identical_for_one_and_two_threads():
    rng = np.random.default_rng(6)
    # Just above the threading threshold (128^3 multiply-adds): multi-block
    # A; one block with many B panels (each thread packs and uses its own);
    # one block with few panels (packing shared by the threads).
    # A thin product: narrow B panels read in place. Few rows over several
    # KC blocks with a partial A panel (each thread runs its panels through
    # every block); B read in place over two KC blocks (no packing, so the
    # blocks' barrier is all that orders them).
    sizes = [(160, 200, 80), (24, 700, 130), (150, 40, 400), (1000, 10, 300), (30, 400, 1100),
             (200, 128, 540)]
    for variant in VARIANTS:
        gemm.set_variant(variant)
        for dtype in DTYPES:
            for i, (m, n, k) in enumerate(sizes):
                for ta, tb in [TRANS[(i + len(variant)) % 4]] if i < 4 else TRANS:
                    a, b = operands(rng, m, n, k, ta, tb, dtype)
                    assert_close(same_for_one_and_two_threads(a, b, ta, tb), a, b, ta, tb)


def test_a_forked_child_still_multiplies_after_the_parent_used_threads():
    # GNU OpenMP's pool does not survive fork(); the child must not hang.
    gemm.set_num_threads(2)
    a = np.random.default_rng(9).uniform(-1, 1, (200, 200)).astype(np.float32)
    expected = gemm.gemm(a, a)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = 0 if gemm.gemm(a, a).tobytes() == expected.tobytes() else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 30
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("gemm hung in a forked child")
        time.sleep(0.01)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_workspace_is_reusable_and_may_be_misaligned():
    rng = np.random.default_rng(7)
    big = np.empty(gemm.workspace_bytes(300, 300, 300, np.float32) + 3, np.uint8)
    work = big[3:]
    for m, n, k in [(300, 300, 300), (50, 7, 260), (1, 1, 1)]:
        a, b = operands(rng, m, n, k, False, False, np.float32)
        assert gemm.workspace(m, n, k, np.float32).nbytes <= work.nbytes
        assert_close(gemm.gemm(a, b, work=work), a, b, False, False)


def test_thread_count_round_trips_and_zero_restores_the_default():
    default = gemm.get_num_threads()
    assert default >= 1
    gemm.set_num_threads(3)
    assert gemm.get_num_threads() == (3 if OPENMP else 1)
    gemm.set_num_threads(0)
    assert gemm.get_num_threads() == default


def run_child(code: str, drop: tuple = (), **env) -> subprocess.CompletedProcess:
    """``python -c code`` on this build of pymodel, with ``drop`` removed from the environment and
    ``env`` set (what the core reads when it loads); it must exit cleanly."""
    full_env = {k: v for k, v in pymodel_env().items() if k not in drop}
    full_env.update(env)
    return subprocess.run([sys.executable, "-c", code], env=full_env, capture_output=True, text=True,
                          check=True)


THREAD_VARS = ("PYMODEL_NUM_THREADS", "OMP_NUM_THREADS")
WARNINGS_ON = "import warnings; warnings.simplefilter('always')\n"


@pytest.mark.parametrize("env,expected", [
    ({"PYMODEL_NUM_THREADS": "3", "OMP_NUM_THREADS": "5"}, 3),
    ({"OMP_NUM_THREADS": "5,2"}, 5),
])
def test_thread_count_is_read_from_the_environment_at_import(env, expected):
    out = run_child("from pymodel._native import gemm; print(gemm.get_num_threads())", THREAD_VARS, **env)
    assert int(out.stdout) == (expected if OPENMP else 1)


@pytest.mark.parametrize("value,why", [
    ("abc", "not an integer"),
    ("1e3", "not an integer"),
    ("99999999999", "32-bit thread count"),
])
def test_a_bad_thread_count_in_the_environment_is_ignored_with_the_reason(value, why):
    code = WARNINGS_ON + "import pymodel; print(pymodel.get_num_threads())"
    default = run_child(code, THREAD_VARS)
    out = run_child(code, THREAD_VARS, PYMODEL_NUM_THREADS=value)
    assert f"ignoring PYMODEL_NUM_THREADS={value!r}" in out.stderr and why in out.stderr
    assert "ignoring" not in default.stderr
    assert int(out.stdout) == int(default.stdout)


@pytest.mark.skipif(not OPENMP, reason="built without OpenMP: there is no wait policy")
@pytest.mark.parametrize("user_env,expected", [
    ({}, ["OMP_WAIT_POLICY = 'PASSIVE'", "GOMP_SPINCOUNT = '300'"]),  # OpenMP's own: 300000
    ({"OMP_WAIT_POLICY": "active"}, ["OMP_WAIT_POLICY = 'ACTIVE'", "GOMP_SPINCOUNT = '30000000000'"]),
    ({"OMP_WAIT_POLICY": "passive"}, ["OMP_WAIT_POLICY = 'PASSIVE'", "GOMP_SPINCOUNT = '0'"]),
    ({"GOMP_SPINCOUNT": "5"}, ["GOMP_SPINCOUNT = '5'"]),
])
def test_waiting_openmp_threads_spin_briefly_unless_the_user_chose_a_policy(user_env, expected):
    # GNU OpenMP reads the policy once, when the core loads: `import pymodel`
    # must set its default before that, and OMP_DISPLAY_ENV shows what took.
    out = run_child("import pymodel", ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT"), OMP_DISPLAY_ENV="verbose",
                    **user_env)
    for line in expected:
        assert line in out.stderr


@pytest.mark.parametrize("value,expected,warns", [
    ("portable", "portable", False),
    (" AUTO ", None, False),  # None: the best variant of this CPU
    ("sse9", None, True),
])
def test_gemm_variant_is_read_from_the_environment_at_import(value, expected, warns):
    out = run_child(WARNINGS_ON + "import pymodel; print(pymodel.get_gemm_variant())",
                    PYMODEL_GEMM_VARIANT=value)
    assert out.stdout.strip() == (expected or VARIANTS[-1])
    assert ("ignoring PYMODEL_GEMM_VARIANT='sse9'" in out.stderr) == warns


def test_the_variant_is_chosen_through_the_public_api():
    import pymodel
    try:
        pymodel.set_gemm_variant("portable")
        assert pymodel.get_gemm_variant() == gemm.get_variant() == "portable"
    finally:
        pymodel.set_gemm_variant("auto")
    assert pymodel.get_gemm_variant() == VARIANTS[-1]


def test_portable_variant_is_always_available_and_auto_picks_the_best():
    assert "portable" in VARIANTS
    gemm.set_variant("auto")
    assert gemm.get_variant() == VARIANTS[-1]


# ------------------------------------------------------------------ errors

def test_mismatched_inner_dimensions_raise_naming_both_shapes():
    a, b = np.ones((3, 4), np.float32), np.ones((5, 6), np.float32)
    with pytest.raises(ValueError, match=r"a.shape=\(3, 4\), b.shape=\(5, 6\)"):
        gemm.gemm(a, b)
    with pytest.raises(ValueError, match="inner dimensions"):
        gemm.gemm(a, np.ones((6, 4), np.float32))


@pytest.mark.parametrize("call,exc,match", [
    (lambda: gemm.gemm(np.ones((2, 2), np.float32), np.ones((2, 2))), TypeError, "dtype"),
    (lambda: gemm.gemm(np.ones((2, 2), np.int32), np.ones((2, 2), np.int32)), TypeError, "float32 or float64"),
    (lambda: gemm.gemm(np.ones(4), np.ones((4, 2))), ValueError, "2-D"),
    (lambda: gemm.gemm(np.ones((4, 4))[:, ::2], np.ones((2, 2))), ValueError, "C-contiguous"),
    (lambda: gemm.gemm(np.ones((2, 2)), np.ones((2, 2)), c=np.ones((2, 3))), ValueError, "shape"),
    (lambda: gemm.gemm(np.ones((2, 2)), np.ones((2, 2)), c=np.ones((2, 2), np.float32)), TypeError, "dtype"),
    (lambda: gemm.gemm(np.ones((2, 2)), np.ones((2, 2)), beta=1.0), ValueError, "beta"),
    (lambda: gemm.gemm(np.ones((64, 64)), np.ones((64, 64)), work=np.empty(8, np.uint8)), ValueError, "too small"),
    (lambda: gemm.gemm(np.ones((64, 64)), np.ones((64, 64)), work=np.empty(10**6)), TypeError, "uint8"),
    (lambda: gemm.set_variant("sse9"), ValueError, "Received: name='sse9'"),
])
def test_bad_arguments_raise_before_reaching_c(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_output_must_be_writable_and_not_overlap_inputs():
    a = np.ones((4, 4))
    with pytest.raises(ValueError, match="overlap a"):
        gemm.gemm(a, np.ones((4, 4)), c=a)
    c = np.ones((4, 4))
    c.flags.writeable = False
    with pytest.raises(ValueError, match="writable"):
        gemm.gemm(a, np.ones((4, 4)), c=c)


def test_views_of_one_buffer_are_refused_only_when_they_really_overlap():
    buf = np.arange(48.0)
    a, b = buf[:16].reshape(4, 4), buf[16:32].reshape(4, 4)
    with pytest.raises(ValueError, match="overlap b"):
        gemm.gemm(a, b, c=buf[28:44].reshape(4, 4))  # shares b's last row
    c = buf[32:].reshape(4, 4)  # right after b: adjacent, not overlapping
    gemm.gemm(a, b, c=c)
    np.testing.assert_array_equal(c, np.arange(16.0).reshape(4, 4) @ np.arange(16.0, 32.0).reshape(4, 4))


@pytest.mark.parametrize("n", [64, 2])  # blocked product, and one small enough to need no workspace
def test_workspace_must_not_overlap_inputs_or_output(n):
    a, b = np.ones((n, n)), np.ones((n, n))
    need = gemm.workspace_bytes(n, n, n, np.float64)
    buf = np.zeros(need + a.nbytes, np.uint8)
    c = buf[need:].view(np.float64).reshape(n, n)
    with pytest.raises(ValueError, match="work must not overlap c"):
        gemm.gemm(a, b, c=c, work=buf)
    with pytest.raises(ValueError, match="work must not overlap a"):
        gemm.gemm(buf[need:].view(np.float64).reshape(n, n), b, work=buf)
    gemm.gemm(a, b, c=c, work=buf[:need])
    np.testing.assert_array_equal(c, np.full((n, n), float(n)))


# --------------------------------------------------------- the C layer itself

def c_gemm(ta=0, tb=0, m=4, n=4, k=4, lda=4, ldb=4, ldc=4, a=True, b=True, c=True,
           work=None, work_bytes=None, fn=lib.pm_gemm_f32):
    buf = ffi.new("float[]", 64)
    w = ffi.new("char[]", 1 << 16) if work is None else work
    nbytes = (1 << 16) if work_bytes is None else work_bytes
    return fn(ta, tb, m, n, k, 1.0, buf if a else ffi.NULL, lda, buf if b else ffi.NULL, ldb,
              0.0, buf if c else ffi.NULL, ldc, w, nbytes)


@pytest.mark.parametrize("kwargs", [
    {"m": -1}, {"n": -2}, {"k": -3}, {"ta": 2}, {"tb": -1},
    {"lda": 3}, {"ldb": 3}, {"ldc": 3}, {"ta": 1, "m": 5, "k": 2, "lda": 4},
    {"a": False}, {"b": False}, {"c": False},
    {"work": ffi.NULL, "work_bytes": 8}, {"work_bytes": -1},
    {"m": 3, "lda": 2**62, "k": 4},
])
def test_c_gemm_rejects_bad_sizes_strides_and_pointers(kwargs):
    assert c_gemm(**kwargs) == lib.PM_EINVAL


def test_c_gemm_reports_a_small_workspace_and_accepts_empty_products():
    need = lib.pm_gemm_workspace_size_f32(100, 100, 100)
    assert need > 0 and lib.pm_gemm_workspace_size_f32(-1, 5, 5) == 0
    buf = ffi.new("float[]", 100 * 100)
    work = ffi.new("char[]", need)
    args = (0, 0, 100, 100, 100, 1.0, buf, 100, buf, 100, 0.0, ffi.new("float[]", 100 * 100), 100)
    assert lib.pm_gemm_f32(*args, work, need - 1) == lib.PM_ENOMEM
    assert lib.pm_gemm_f32(*args, work, need) == lib.PM_OK
    assert c_gemm(m=0, a=False, c=False, work=ffi.NULL, work_bytes=0) == lib.PM_OK
    assert lib.pm_gemm_set_variant(99) == lib.PM_EINVAL


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [45, 10])
def test_c_gemm_honours_leading_dimensions_larger_than_the_rows(dtype, n, variant):
    gemm.set_variant(variant)
    rng = np.random.default_rng(8)
    m, k = 37, 290
    for ta, tb in TRANS:
        a_full = rng.uniform(-1, 1, (k + 3, m + 5) if ta else (m + 3, k + 5)).astype(dtype)
        b_full = rng.uniform(-1, 1, (n + 2, k + 7) if tb else (k + 2, n + 7)).astype(dtype)
        a = a_full[:k, :m] if ta else a_full[:m, :k]
        b = b_full[:n, :k] if tb else b_full[:k, :n]
        c_full = np.full((m, n + 9), -7.0, dtype)
        work = gemm.workspace(m, n, k, dtype)
        ct = "float *" if dtype == np.float32 else "double *"
        fn = lib.pm_gemm_f32 if dtype == np.float32 else lib.pm_gemm_f64
        status = fn(int(ta), int(tb), m, n, k, 1.0, ffi.from_buffer(ct, a_full), a_full.shape[1],
                    ffi.from_buffer(ct, b_full), b_full.shape[1], 0.0, ffi.from_buffer(ct, c_full),
                    c_full.shape[1], ffi.from_buffer(work), work.nbytes)
        assert status == lib.PM_OK
        assert_close(c_full[:, :n].copy(), np.ascontiguousarray(a), np.ascontiguousarray(b), ta, tb)
        assert np.all(c_full[:, n:] == -7.0)


# ------------------------------------------------------ few rows: B streamed

# Rows 1..9 (the rows path takes m <= 8; 9 is the blocked driver), columns
# across every rows kernel's lane and block widths (4, 8, 16 lanes; blocks
# of 1, 2, 4, 8 vectors; the 128-column thread split), sums short and long
# (with B transposed: dot products of 1, 2 and 18 full vectors plus a
# masked rest).
ROWS_N = [1, 3, 4, 5, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 200, 257]
ROWS_K = [1, 2, 17, 300]


@pytest.mark.parametrize("variant", VARIANTS)
def test_few_row_products_match_numpy_for_every_width(variant):
    gemm.set_variant(variant)
    rng = np.random.default_rng(11)
    for m in range(1, 10):
        for n in ROWS_N:
            for k in ROWS_K:
                for ta, tb in TRANS:
                    dtype = DTYPES[(m + n + k) % 2]
                    a, b = operands(rng, m, n, k, ta, tb, dtype)
                    c = np.full((m, n), np.nan, dtype=dtype)
                    gemm.gemm(a, b, trans_a=ta, trans_b=tb, c=c)
                    assert_close(c, a, b, ta, tb)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_few_row_products_scale_by_alpha_and_beta(variant, dtype):
    gemm.set_variant(variant)
    check_alpha_beta(np.random.default_rng(12), [(1, 512, 784), (3, 10, 256), (8, 129, 40), (5, 33, 7)],
                     dtype, -1.5, 0.5)


def test_few_row_products_are_bitwise_identical_for_one_and_two_threads():
    rng = np.random.default_rng(13)
    # Above the rows path's threading threshold, columns not a multiple of
    # the split, and one with fewer columns than a split range.
    sizes = [(8, 700, 400), (5, 1000, 450), (1, 2100, 1000), (2, 100, 12000)]
    for variant in VARIANTS:
        gemm.set_variant(variant)
        for dtype in DTYPES:
            for m, n, k in sizes:
                for ta, tb in TRANS:
                    a, b = operands(rng, m, n, k, ta, tb, dtype)
                    same_for_one_and_two_threads(a, b, ta, tb)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_one_row_products_of_a_big_b_equal_the_first_row_of_a_two_row_one(variant, dtype):
    """One row against a B past L2 streams B's rows into an L1 buffer; each
    element is still the chain of FMAs of the register-tile kernels, so it
    must be bitwise the first row of the two-row product (not for the
    portable variant, which has one loop for both). Sizes cross the buffer's
    4096 columns, a masked last vector and sums of 4p + 1, 2 and 3 terms."""
    gemm.set_variant(variant)
    rng = np.random.default_rng(14)
    for n, k in [(515, 1031), (4100, 33), (4096 + 16, 18), (300, 303)]:
        a = rng.uniform(-1, 1, (2, k)).astype(dtype)
        b = rng.uniform(-1, 1, (k, n)).astype(dtype)
        one = gemm.gemm(a[:1].copy(), b)
        assert_close(one, a[:1], b, False, False)
        if variant != "portable":
            assert one.tobytes() == gemm.gemm(a, b)[:1].tobytes()
        check_alpha_beta(rng, [(1, n, k)], dtype, -1.5, 0.5)


def test_c_gemm_disjoint_refuses_only_operands_whose_spans_meet():
    buf = ffi.new("float[]", 64)
    work = ffi.new("char[]", 1 << 16)

    def call(a_off, b_off, c_off, w=work, nw=1 << 16):
        return lib.pm_gemm_disjoint_f32(0, 0, 2, 2, 2, 1.0, buf + a_off, 2, buf + b_off, 2, 0.0,
                                        buf + c_off, 2, w, nw)

    assert call(0, 4, 8) == lib.PM_OK  # adjacent spans
    assert call(0, 4, 3) == lib.PM_EINVAL  # c's first element is a's last
    assert call(0, 4, 7) == lib.PM_EINVAL  # c's last element is b's first
    assert call(0, 0, 8) == lib.PM_OK  # a and b may share memory
    assert call(0, 4, 8, ffi.cast("char *", buf + 10), 8) == lib.PM_EINVAL  # work meets c
    assert call(0, 4, 8, ffi.cast("char *", buf + 12), 8) == lib.PM_OK


def test_python_threads_without_a_workspace_each_get_their_own():
    import threading

    rng = np.random.default_rng(14)
    pairs = [operands(rng, m, n, k, False, False, np.float32) for m, n, k in [(40, 300, 200), (70, 33, 900)] * 3]
    expected = [gemm.gemm(a, b) for a, b in pairs]
    results = [None] * len(pairs)

    def run(i):
        for _ in range(20):
            results[i] = gemm.gemm(*pairs[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(pairs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, expected):
        assert got.tobytes() == want.tobytes()


def test_a_reused_workspace_is_checked_again_on_every_call():
    a = np.ones((64, 64), np.float32)
    work = gemm.workspace(64, 64, 64, np.float32)
    np.testing.assert_array_equal(gemm.gemm(a, a, work=work), np.full((64, 64), 64.0, np.float32))
    work.flags.writeable = False
    with pytest.raises(ValueError, match="writable"):
        gemm.gemm(a, a, work=work)
    with pytest.raises(ValueError, match="too small"):
        gemm.gemm(a, a, work=gemm.workspace(64, 64, 64, np.float32)[:8])
