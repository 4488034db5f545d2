"""Property tests: random specs and random arrays give a working model or a ValueError/TypeError with a message.

Never another exception, never a crash: every example runs in one long-lived
worker process, so a segfault or abort in the C core ends that process and
fails the test with the example that caused it, instead of killing pytest.
"""
import functools
import importlib
import inspect
import json
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pymodel_process import pymodel_env

WORKER = textwrap.dedent(r'''
    import os, pickle, sys, tempfile, warnings
    import numpy as np
    warnings.simplefilter("ignore")
    import pymodel as keras
    from pymodel import cli

    def run_arrays(case):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.layers.Dense(u, activation=a, **kw)
                                  for u, a, kw in case["layers"]])
        model.compile(case["optimizer"], case["loss"], metrics=case["metrics"])
        fit = dict(case["fit"], verbose=0)
        model.fit(case["x"], case["y"], **fit)
        model.evaluate(case["x"], case["y"], verbose=0, batch_size=fit.get("batch_size"))
        out = model.predict(case["x"], verbose=0, batch_size=fit.get("batch_size"))
        assert out.shape[0] == len(case["x"])

    def run_spec(spec):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "spec.json")
            with open(path, "w") as f:
                f.write(spec)
            cli.run_spec(path, quiet=True, progress=False, print_fn=lambda *a: None)

    def build_arg(spec, built):
        tag = spec[0]
        if tag == "value":
            return spec[1]
        if tag == "array":
            _, dtype, shape, layout, seed = spec
            full = tuple(2 * d if layout == "strided" and i == len(shape) - 1 else d
                         for i, d in enumerate(shape))
            a = np.random.default_rng(seed).normal(size=full).astype(dtype)
            if layout == "strided" and a.ndim:
                a = a[..., ::2]
            elif layout == "fortran":
                a = np.asfortranarray(a)
            elif layout == "reversed" and a.ndim:
                a = a[::-1]
            elif layout == "readonly":
                a.setflags(write=False)
            return a
        if tag == "alias":  # a view of an argument made before: overlapping buffers
            other = built.get(spec[1])
            return other[: spec[2]] if isinstance(other, np.ndarray) and other.ndim else other
        if tag == "act":
            from pymodel._native import activations
            return activations.descriptor(spec[1], alpha=spec[2], max_value=spec[3])
        if tag == "loss":
            from pymodel._native import losses
            return losses.descriptor(spec[1], from_logits=spec[2])
        if tag == "rng":
            from pymodel._native import dropout
            return dropout.Rng(spec[1])
        raise AssertionError(tag)

    def run_native(case):
        import importlib
        module = importlib.import_module("pymodel._native." + case["module"])
        built = {}
        for name, spec in case["args"]:
            built[name] = build_arg(spec, built)
        getattr(module, case["func"])(**built)

    RUNNERS = {"arrays": lambda c: run_arrays(c), "spec": lambda c: run_spec(c),
               "native": lambda c: run_native(c)}

    for line in sys.stdin.buffer:
        kind, case = pickle.loads(bytes.fromhex(line.decode()))
        try:
            RUNNERS[kind](case)
            reply = ("ok", "")
        except (ValueError, TypeError, MemoryError) as e:
            reply = ("refused", f"{type(e).__name__}: {e}")
        except BaseException as e:
            reply = ("wrong", f"{type(e).__name__}: {e!r}")
        sys.stdout.write(pickle.dumps(reply).hex() + "\n")
        sys.stdout.flush()
''')


class Worker:
    """A child Python that runs cases one by one; a crash shows up as a dead pipe."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=pymodel_env(), cwd="/")

    def run(self, kind: str, case) -> tuple:
        try:
            self.proc.stdin.write((pickle.dumps((kind, case)).hex() + "\n").encode())
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except BrokenPipeError:
            line = b""
        if not line:
            code = self.proc.wait(timeout=30)
            err = self.proc.stderr.read().decode(errors="replace")[-2000:]
            self.close()
            self.__init__()  # the next example gets a fresh process
            pytest.fail(f"the worker process died (exit {code}) on {kind} case {case!r:.2000}\n{err}")
        return pickle.loads(bytes.fromhex(line.decode()))

    def close(self):
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                pipe.close()
            except BrokenPipeError:
                pass
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.close()


def check(outcome):
    status, message = outcome
    assert status in ("ok", "refused"), message
    if status == "refused":
        assert len(message.split(": ", 1)[1]) > 10, message


# ---------------------------------------------------------------- random arrays
SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e38, -1e38, 1e-45, 3e38]
dtypes = st.sampled_from(["float32", "float64", "int64", "int8", "uint8", "bool", "float16",
                          "complex64", "object", "U1"])


@st.composite
def arrays(draw, rows, cols):
    dtype = draw(dtypes)
    shape = draw(st.sampled_from([(rows, cols), (rows,), (rows, cols, 1), (rows, 1), (0, cols),
                                  (rows, 0), (), (rows, cols + 1)]))
    data = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).normal(size=shape) * 3
    if shape and draw(st.booleans()) and data.size:
        data.flat[draw(st.integers(0, data.size - 1))] = draw(st.sampled_from(SPECIAL))
    if dtype == "object":
        return data.astype(object)
    with np.errstate(invalid="ignore", over="ignore"):
        if dtype == "U1":
            return data.astype(int).astype(str) if data.size else data.astype(str)
        array = data.astype(dtype)
    if draw(st.booleans()) and array.ndim == 2:
        array = np.asfortranarray(array)
    if draw(st.booleans()):
        array = array.tolist()
    return array


@st.composite
def array_cases(draw):
    rows, cols = draw(st.integers(1, 9)), draw(st.integers(1, 4))
    n_layers = draw(st.integers(1, 3))
    acts = st.sampled_from([None, "relu", "sigmoid", "softmax", "tanh", "linear", "elu"])
    layers = [(draw(st.integers(1, 5)), draw(acts), {"input_shape": (cols,)} if i == 0 and
               draw(st.booleans()) else {}) for i in range(n_layers)]
    loss = draw(st.sampled_from(["mse", "mae", "binary_crossentropy", "categorical_crossentropy",
                                 "sparse_categorical_crossentropy", "huber", "poisson", "hinge",
                                 "kld", "msle", "log_cosh"]))
    fit = draw(st.fixed_dictionaries({}, optional={
        "batch_size": st.integers(-1, 12), "epochs": st.integers(-1, 2),
        "validation_split": st.sampled_from([0.0, 0.25, 0.5, 0.99, 1.0, -0.5]),
        "shuffle": st.booleans(), "sample_weight": st.just(np.ones(rows))}))
    return {"layers": layers, "loss": loss, "optimizer": draw(st.sampled_from(["sgd", "adam",
                                                                             "rmsprop"])),
            "metrics": draw(st.sampled_from([[], ["accuracy"], ["mae"]])),
            "x": draw(arrays(rows, cols)), "y": draw(arrays(rows, layers[-1][0])), "fit": fit}


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(case=array_cases())
def test_random_arrays_train_or_raise_value_or_type_error(worker, case):
    check(worker.run("arrays", case))


# ---------------------------------------------------------------- random specs
BASE = {"format": "pymodel.spec/1", "name": "p", "seed": 1,
        "model": {"layers": [{"type": "Dense", "units": 4, "activation": "relu", "input_dim": 3},
                             {"type": "Dropout", "rate": 0.1},
                             {"type": "Dense", "units": 2, "activation": "softmax"}]},
        "compile": {"optimizer": {"type": "Adam", "learning_rate": 0.01},
                    "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]},
        "data": {"train": {"x": [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], "y": [0, 1, 1, 0]},
                 "predict": {"x": [[0, 0, 1]]}},
        "fit": {"epochs": 2, "batch_size": 2, "verbose": 0},
        "outputs": {"plot": False, "history": "h.json", "model": "m.pmz"}}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10**12) | st.sampled_from(
        [0.5, -1.0, 1e300, 2**63, "relu", "softmax", "Dense", "mse", "sgd", "x", "",
         "os:system", "../../etc/passwd", "/dev/zero", "float16", "float64"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["type", "units", "rate", "activation", "x", "y", "path", "class_name",
                         "config", "input_dim", "learning_rate"]), children, max_size=3),
    max_leaves=6)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, prefix + (i,))


PATHS = [p for p in _paths(BASE) if p]


@st.composite
def specs(draw):
    spec = json.loads(json.dumps(BASE))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        node = spec
        try:
            for key in path[:-1]:
                node = node[key]
            if draw(st.integers(0, 5)) == 0 and isinstance(node, dict):
                node.pop(path[-1], None)
            else:
                node[path[-1]] = draw(json_values)
        except (KeyError, IndexError, TypeError):
            pass
    return json.dumps(spec)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(spec=specs())
def test_random_specs_run_or_raise_value_or_type_error(worker, spec):
    check(worker.run("spec", spec))


def test_the_worker_reports_a_crash_as_a_failure():
    w = Worker()
    w.proc.kill()
    w.proc.wait()
    with pytest.raises(pytest.fail.Exception, match="worker process died"):
        w.run("spec", "{}")
    assert w.run("spec", "{}")[0] == "refused"  # and the next example runs in a new process
    w.close()


# ---------------------------------------------------------------- the C boundary
NATIVE = {  # module: functions (the _native package is the only door to C)
    "gemm": ["gemm", "workspace_bytes", "workspace"],
    "dense": ["forward", "backward", "workspace"],
    "activations": ["forward", "backward"],
    "dropout": ["forward", "backward"],
    "losses": ["forward", "backward"],
    "optimizers": ["sgd_step", "adagrad_step", "rmsprop_step", "adam_step", "adamax_step",
                   "nadam_step", "sumsq", "scale", "clip", "weight_decay", "l1l2"],
    "pool": ["max_pool2d_forward", "max_pool2d_backward", "average_pool2d_forward",
             "average_pool2d_backward", "max_pool1d_forward", "max_pool1d_backward",
             "global_max_pool_forward", "global_average_pool_backward"],
    "conv": ["conv2d_forward", "conv2d_backward", "conv1d_forward", "conv1d_backward"],
}
ACT_KINDS = ["linear", "relu", "sigmoid", "softmax", "log_softmax", "tanh", "elu", "gelu", "bogus"]
LOSS_KINDS = ["mse", "bce", "cce", "scce", "huber", "kld", "hinge", "bogus"]
SCALARS = [0.0, 0.5, 1.0, -1.0, 2.0, float("nan"), float("inf"), 1e308, 0, 1, 3, -1, 2**62, True,
           None, "same", "valid", "causal", "float32", "float64", (2, 2), (0, 1)]
dims = st.sampled_from([1, 1, 2, 3, 0, 5])


@functools.lru_cache(maxsize=None)
def _signature(module: str, func: str) -> tuple:
    fn = getattr(importlib.import_module(f"pymodel._native.{module}"), func)
    return tuple(p.name for p in inspect.signature(fn).parameters.values())


def _array(draw, dtype, shape):
    return ("array", dtype, shape, "c", draw(st.integers(0, 1000)))


wild_arguments = st.one_of(
    st.tuples(st.just("array"),
              st.sampled_from(["float32", "float64", "float16", "int32", "uint8"]),
              st.lists(dims, min_size=0, max_size=4).map(tuple),
              st.sampled_from(["c", "fortran", "reversed", "strided", "readonly"]),
              st.integers(0, 1000)),
    st.tuples(st.just("value"), st.sampled_from(SCALARS)))


@st.composite
def native_calls(draw):
    """A call whose arrays mostly agree (one dtype, one shape), with a few arguments made wild."""
    module = draw(st.sampled_from(sorted(NATIVE)))
    func = draw(st.sampled_from(NATIVE[module]))
    dtype = draw(st.sampled_from(["float32", "float64"]))
    shape = draw(st.lists(dims, min_size=1, max_size=4).map(tuple))
    names = _signature(module, func)
    wild = set(draw(st.lists(st.sampled_from(names), max_size=2)))
    args = []
    for name in names:
        if name == "desc":
            spec = (("loss", draw(st.sampled_from(LOSS_KINDS)), draw(st.booleans()))
                    if module == "losses" else
                    ("act", draw(st.sampled_from(ACT_KINDS)), draw(st.sampled_from([0.0, 0.2])),
                     draw(st.sampled_from([None, 6.0]))))
        elif name == "rng":
            spec = ("rng", draw(st.integers(0, 2**64 - 1)))
        elif name in wild:
            if draw(st.booleans()) and args:  # overlap an earlier array, or leave out
                spec = ("alias", draw(st.sampled_from([a[0] for a in args])), draw(st.integers(0, 3)))
            else:
                spec = draw(wild_arguments)
        elif name in SCALAR_NAMES:
            spec = ("value", SCALAR_NAMES[name])
        elif name in ("work", "out", "z", "y", "dz", "dx", "dw", "db", "c", "mask", "vhat",
                      "weight", "bias", "b") and draw(st.booleans()):
            spec = ("value", None)
        else:
            spec = _array(draw, dtype, shape)
        args.append((name, spec))
    return {"module": module, "func": func, "args": args}


SCALAR_NAMES = {"lr": 0.01, "momentum": 0.9, "epsilon": 1e-7, "rho": 0.9, "beta_1": 0.9,
                "beta_2": 0.999, "t": 3, "rate": 0.5, "alpha": 1.0, "beta": 0.0, "lo": -1.0,
                "hi": 1.0, "l1": 0.01, "l2": 0.01, "wd": 0.1, "u_t": 0.9, "u_t1": 0.9,
                "u_prod": 0.9, "u_prod_t1": 0.8, "beta2_pow": 0.99, "m": 2, "n": 3, "k": 4,
                "dtype": "float32", "pool_size": 2, "strides": 1, "padding": "valid",
                "dilation": 1, "trans_a": False, "trans_b": False, "need_dx": True,
                "need_db": True, "nesterov": False, "amsgrad": False, "centered": False,
                "legacy": False}


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(case=native_calls())
def test_random_arguments_to_the_c_bindings_never_crash(worker, case):
    check(worker.run("native", case))
