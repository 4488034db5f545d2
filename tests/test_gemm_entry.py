"""gemm()'s C entry does exactly what the checked Python path does: same bits, same errors, no leaks."""
import inspect
import sys
import threading
import types

import numpy as np
import pytest

from pymodel._native import gemm

pytestmark = pytest.mark.skipif(sys.version_info < (3, 11), reason="the C entry needs Python >= 3.11")

checked = gemm._gemm_checked


def test_gemm_is_the_c_entry_and_keeps_the_signature():
    assert isinstance(gemm.gemm, types.BuiltinFunctionType)
    params = inspect.signature(gemm.gemm).parameters
    assert list(params) == ["a", "b", "trans_a", "trans_b", "alpha", "beta", "c", "work"]
    assert params["alpha"].default == 1.0 and params["c"].default is None


def _operands(rng, dtype=np.float32):
    return {
        "a": rng.standard_normal((5, 7)).astype(dtype),
        "at": rng.standard_normal((7, 5)).astype(dtype),
        "b": rng.standard_normal((7, 3)).astype(dtype),
        "bt": rng.standard_normal((3, 7)).astype(dtype),
        "c": rng.standard_normal((5, 3)).astype(dtype),
    }


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kwargs", [
    {}, {"trans_a": True}, {"trans_b": True}, {"trans_a": True, "trans_b": 1},
    {"alpha": 2.5}, {"alpha": 3}, {"alpha": np.float32(0.5)}, {"trans_a": np.bool_(True)},
    {"beta": 0.5, "c": True}, {"alpha": -1.0, "beta": 2, "c": True}, {"c": True, "beta": 0.0},
    {"work": True}, {"c": None, "work": None},
])
def test_the_entry_and_the_checked_path_give_the_same_bits(dtype, kwargs):
    ops = _operands(np.random.default_rng(0), dtype)
    a = ops["at"] if kwargs.get("trans_a") else ops["a"]
    b = ops["bt"] if kwargs.get("trans_b") else ops["b"]
    results = []
    for fn in (gemm.gemm, checked):
        kw = dict(kwargs)
        if kw.get("c") is True:
            kw["c"] = ops["c"].copy()
        if kw.get("work") is True:
            kw["work"] = gemm.workspace(5, 3, 7, dtype)
        out = fn(a, b, **kw)
        if kw.get("c") is not None:
            assert out is kw["c"]
        assert out.dtype == dtype and out.shape == (5, 3)
        results.append(out.tobytes())
    assert results[0] == results[1]


class _Subclass(np.ndarray):
    pass


def _bad_calls():
    f32 = np.ones((4, 4), np.float32)
    f64 = np.ones((4, 4))
    readonly = np.ones((4, 4))
    readonly.flags.writeable = False
    return [
        ((f64.tolist(), f64), {}),                          # not an ndarray
        ((memoryview(f64), f64), {}),                        # a buffer, not an ndarray
        ((f64.view(_Subclass), f64), {}),                    # an ndarray subclass
        ((f64, f64.astype(">f8")), {}),                      # non-native byte order
        ((f64, f32), {}),                                    # mixed dtypes
        ((f64.astype(np.int64), f64.astype(np.int64)), {}),  # integers
        ((f64[:, ::2], f64[:2]), {}),                        # not C-contiguous
        ((np.asfortranarray(f64[:, :3]), f64[:3]), {}),      # Fortran order
        ((f64.ravel(), f64), {}),                            # 1-D
        ((f64, f64[:3]), {}),                                # inner sizes differ
        ((f64, f64), {"beta": 1.0}),                         # beta without c
        ((f64, f64), {"beta": float("nan")}),
        ((f64, f64), {"c": readonly}),                       # c read-only
        ((f64, f64), {"c": np.ones((4, 3))}),                # c's shape
        ((f64, f64), {"c": np.ones((4, 4), np.float32)}),    # c's dtype
        ((f64, f64), {"c": np.ones(16)}),                    # c 1-D
        ((f64, f64), {"c": f64}),                            # c is a
        ((f64, f64), {"work": np.empty(8, np.uint8)}),       # work too small
        ((f64, f64), {"work": np.empty(10**5)}),             # work not uint8
        ((f64, f64), {"work": bytearray(10**5)}),            # work not an ndarray
        ((f64, f64), {"alpha": "2"}),                        # alpha not a number
        ((f64, f64), {"alpha": 10**400}),                    # alpha too big for a double
        ((f64, f64), {"trans_a": np.ones(2)}),               # truth value ambiguous
        ((f64, f64), {"transa": True}),                      # unknown keyword
        ((f64, f64, True), {}),                              # three positional arguments
        ((f64,), {}),                                        # one
        ((), {"a": f64, "b": f64, "c": np.ones((4, 4))}),    # a and b by keyword: valid
        ((f64,), {"b": f64}),                                # valid too
    ]


@pytest.mark.parametrize("call", range(len(_bad_calls())))
def test_every_call_the_entry_does_not_take_behaves_as_the_checked_path(call):
    args, kwargs = _bad_calls()[call]
    outcomes = []
    for fn in (gemm.gemm, checked):
        try:
            outcomes.append(("ok", fn(*args, **kwargs).tobytes()))
        except Exception as err:  # noqa: BLE001 - the exception itself is compared
            outcomes.append((type(err), str(err)))
    assert outcomes[0] == outcomes[1]


def test_calls_leak_no_references_on_either_path():
    a = np.ones((6, 5), np.float32)
    b = np.ones((5, 4), np.float32)
    c = np.empty((6, 4), np.float32)
    work = gemm.workspace(6, 4, 5, np.float32)
    bad_c = np.empty((6, 3), np.float32)
    objects = (a, b, c, work, bad_c)
    for _ in range(10):  # warm-up: caches settle
        gemm.gemm(a, b, c=c, work=work)
    before = [sys.getrefcount(o) for o in objects]
    for _ in range(200):
        assert gemm.gemm(a, b, c=c, work=work) is c
        gemm.gemm(a, b)
        with pytest.raises(ValueError):
            gemm.gemm(a, b, c=bad_c)
    assert [sys.getrefcount(o) for o in objects] == before


def test_each_thread_grows_its_own_workspace_and_gets_the_same_bits():
    rng = np.random.default_rng(3)
    sizes = [(3, 5, 7), (300, 200, 100), (40, 700, 33), (513, 9, 260)]
    pairs = [(rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32))
             for m, n, k in sizes]
    expected = [checked(a, b).tobytes() for a, b in pairs]
    failures = []

    def run(offset):
        for i in range(12):  # sizes in a different order in each thread: grow, reuse, grow
            j = (i + offset) % len(pairs)
            if gemm.gemm(*pairs[j]).tobytes() != expected[j]:
                failures.append(j)

    threads = [threading.Thread(target=run, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
