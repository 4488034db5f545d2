"""Side-by-side speed: pymodel against a plain NumPy implementation, PyTorch and tf-keras.

Prints one table:

- MLP training 784-512-256-10 (relu, relu, softmax; categorical crossentropy;
  Adam) on random samples, batch 32 and 256 x 1 and 2 threads, in samples/s
  (one epoch per repetition), with pymodel's share of the float32 peak;
- the seed notebook's XOR fit (Dense(4, sigmoid), Dense(1, sigmoid),
  SGD(learning_rate=1), mse, 1500 epochs of 4 samples), in ms per fit();
- inference latency from ``benchmarks/bench_inference.py``: one-sample ``predict`` of
  the seed network and of the MLP, and the MLP at batch 256, in us per call;
- memory from ``benchmarks/bench_memory.py``: the peak RSS growth of a one-epoch fit
  on a 2 GB float32 ``.npy`` opened with ``mmap_mode="r"``, against a 300 MB budget;
- GEMM rows from ``benchmarks/bench_gemm.py`` (pymodel's pm_gemm against
  numpy.matmul: squares n = 64 ... 2048, and the MLP's products at batch 1,
  32, 128 and 256), in GFLOP/s.

Ratios are pymodel's speed over the other's (> 1: pymodel is faster). Each
(framework, task, thread count) runs in its own subprocess with the thread
count pinned there (OMP/MKL/OPENBLAS/PYMODEL_NUM_THREADS, torch.set_num_threads,
tf.config.threading); the time is the median of several repetitions after a
warm-up run, pooled over two rounds of subprocesses in which the frameworks
take turns (so that a change of load on a shared machine hits them all).
PyTorch and tf-keras are benchmark peers only, never pymodel dependencies; a
missing one is skipped with a note.

    python benchmarks/run.py                                  # full table (several minutes)
    python benchmarks/run.py --tf-python venv-tf/bin/python
    python benchmarks/run.py --quick                          # tiny sizes, seconds (CI)

On a shared machine the numbers move with the load: repeat and compare.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _openmp_wait() -> dict:
    """pymodel's default OpenMP wait settings, read without loading its C core."""
    spec = importlib.util.spec_from_file_location("_core_loader", ROOT / "pymodel" / "_core_loader.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.OPENMP_WAIT


OPENMP_WAIT = _openmp_wait()
FRAMEWORKS = ("pymodel", "numpy", "torch", "tf")
TITLES = {"pymodel": "pymodel", "numpy": "numpy", "torch": "torch", "tf": "tf-keras"}
MLP = (784, 512, 256, 10)
# Per sample: forward x@W and backward X.T@dY for every layer, dY@W.T for all but the first
# (it has no input gradient): 2.41 MFLOP.
MLP_FLOPS = sum((6 if i else 4) * a * b for i, (a, b) in enumerate(zip(MLP, MLP[1:])))


# ================================================================== workers (run in subprocesses)

def _data(n: int, seed: int = 0):
    import numpy as np
    rng = np.random.default_rng(seed)
    x = rng.random((n, MLP[0]), dtype=np.float32)
    y = np.eye(MLP[-1], dtype=np.float32)[rng.integers(0, MLP[-1], n)]
    return x, y


def _xor_data():
    import numpy as np
    x = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], np.float32)
    return x, np.array([[0], [1], [1], [0]], np.float32)


def _timed(fn, reps: int) -> list:
    """Seconds of each of ``reps`` calls of ``fn`` after one untimed warm-up call."""
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def _keras_mlp(keras, batch: int, n: int):
    x, y = _data(n)
    model = keras.Sequential([keras.layers.Dense(MLP[1], activation="relu", input_shape=(MLP[0],)),
                              keras.layers.Dense(MLP[2], activation="relu"),
                              keras.layers.Dense(MLP[3], activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(), loss="categorical_crossentropy")
    return lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0)


def _keras_xor(keras, epochs: int):
    x, y = _xor_data()

    def fit():
        model = keras.Sequential([keras.layers.Dense(4, activation="sigmoid", input_dim=3),
                                  keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=1), loss="mse")
        t0 = time.perf_counter()  # fit() only, as the seed notebook times it
        model.fit(x, y, epochs=epochs, verbose=0)
        return time.perf_counter() - t0
    return fit


def _numpy_mlp(batch: int, n: int):
    """Forward, backward and Adam in float32 NumPy (in-place where NumPy allows)."""
    import numpy as np
    x, y = _data(n)
    rng = np.random.default_rng(1)
    ws = [(rng.uniform(-1, 1, (a, b)) * np.sqrt(6 / (a + b))).astype(np.float32)
          for a, b in zip(MLP, MLP[1:])]
    bs = [np.zeros(b, np.float32) for b in MLP[1:]]
    params = ws + bs
    ms = [np.zeros_like(p) for p in params]
    vs = [np.zeros_like(p) for p in params]
    state = {"t": 0}
    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-7

    def epoch():
        order = rng.permutation(n)
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            xb, yb = x[idx], y[idx]
            h1 = np.maximum(xb @ ws[0] + bs[0], 0)
            h2 = np.maximum(h1 @ ws[1] + bs[1], 0)
            z = h2 @ ws[2] + bs[2]
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            dz = (p - yb) / len(idx)
            d2 = (dz @ ws[2].T) * (h2 > 0)
            d1 = (d2 @ ws[1].T) * (h1 > 0)
            grads = [xb.T @ d1, h1.T @ d2, h2.T @ dz, d1.sum(0), d2.sum(0), dz.sum(0)]
            state["t"] += 1
            t = state["t"]
            alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            for w, g, m, v in zip(params, grads, ms, vs):
                m += (g - m) * (1 - b1)
                v += (g * g - v) * (1 - b2)
                w -= (alpha * m) / (np.sqrt(v) + eps)
    return epoch


def _numpy_xor(epochs: int):
    import numpy as np
    x, y = _xor_data()

    def sigmoid(z):
        return 1 / (1 + np.exp(-z))

    def fit():
        rng = np.random.default_rng(42)
        w1 = rng.uniform(-1, 1, (3, 4)).astype(np.float32)
        w2 = rng.uniform(-1, 1, (4, 1)).astype(np.float32)
        b1, b2 = np.zeros(4, np.float32), np.zeros(1, np.float32)
        t0 = time.perf_counter()
        for _ in range(epochs):
            h = sigmoid(x @ w1 + b1)
            out = sigmoid(h @ w2 + b2)
            d2 = 2 * (out - y) / out.size * out * (1 - out)
            d1 = (d2 @ w2.T) * h * (1 - h)
            w2 -= h.T @ d2
            b2 -= d2.sum(0)
            w1 -= x.T @ d1
            b1 -= d1.sum(0)
        return time.perf_counter() - t0
    return fit


def _torch_mlp(torch, batch: int, n: int):
    x, y = (torch.from_numpy(a) for a in _data(n))
    nn = torch.nn
    model = nn.Sequential(nn.Linear(MLP[0], MLP[1]), nn.ReLU(), nn.Linear(MLP[1], MLP[2]),
                          nn.ReLU(), nn.Linear(MLP[2], MLP[3]))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)

    def epoch():
        order = torch.randperm(n)
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])  # softmax + cce
            loss.backward()
            opt.step()
    return epoch


def _torch_xor(torch, epochs: int):
    x, y = (torch.from_numpy(a) for a in _xor_data())
    nn = torch.nn

    def fit():
        torch.manual_seed(42)
        model = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 1), nn.Sigmoid())
        opt = torch.optim.SGD(model.parameters(), lr=1.0)
        t0 = time.perf_counter()
        for _ in range(epochs):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
        return time.perf_counter() - t0
    return fit


def run_worker(framework: str, task: str, threads: int, batch: int, samples: int,
               epochs: int, reps: int) -> list:
    """Seconds per repetition (one epoch for "mlp", one fit() for "xor"), warm-up excluded."""
    if framework == "pymodel":
        sys.path.insert(0, str(ROOT))
        import pymodel as keras
        from pymodel._native import gemm
        gemm.set_num_threads(threads)
        fn = _keras_mlp(keras, batch, samples) if task == "mlp" else _keras_xor(keras, epochs)
    elif framework == "tf":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        import tf_keras as keras
        fn = _keras_mlp(keras, batch, samples) if task == "mlp" else _keras_xor(keras, epochs)
    elif framework == "torch":
        import torch
        torch.set_num_threads(threads)
        torch.set_num_interop_threads(1)
        fn = _torch_mlp(torch, batch, samples) if task == "mlp" else _torch_xor(torch, epochs)
    else:
        fn = _numpy_mlp(batch, samples) if task == "mlp" else _numpy_xor(epochs)
    if task == "xor":  # fit() times itself (model building excluded)
        fn()
        return [fn() for _ in range(reps)]
    return _timed(fn, reps)


# ================================================================== driver

def available(framework: str, tf_python: str | None) -> tuple:
    """(python executable or None, note) for a framework."""
    if framework in ("pymodel", "numpy"):
        return sys.executable, ""
    if framework == "torch":
        if importlib.util.find_spec("torch") is None:
            return None, "torch not installed (pip install torch)"
        return sys.executable, ""
    if tf_python:
        return tf_python, ""
    if importlib.util.find_spec("tensorflow") and importlib.util.find_spec("tf_keras"):
        return sys.executable, ""
    return None, "tf-keras not importable here (pass --tf-python PATH)"


def worker_env(framework: str, threads: int) -> dict:
    """The environment of a worker subprocess: ``threads`` pinned for every runtime."""
    env = dict(os.environ)
    blas = "1" if framework == "pymodel" else str(threads)
    env.update(OMP_NUM_THREADS=blas, MKL_NUM_THREADS=blas, OPENBLAS_NUM_THREADS=blas,
               PYMODEL_NUM_THREADS=str(threads), TF_USE_LEGACY_KERAS="1",
               TF_CPP_MIN_LOG_LEVEL="3")
    # How idle OpenMP threads wait: what pymodel defaults to, for every OpenMP
    # runtime (torch's GNU OpenMP too).
    env.update(OPENMP_WAIT)
    if framework == "numpy":  # these slow NumPy's OpenBLAS on some processors here
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    return env


def run_json(cmd: list, env: dict, what: str, timeout: float = 900):
    """The JSON a worker prints on its last line (None, with a note, if it failed)."""
    try:
        res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout,
                             cwd=str(ROOT))
        return json.loads(res.stdout.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, json.JSONDecodeError, IndexError, OSError) as exc:
        tail = getattr(exc, "stderr", None) or (res.stderr if "res" in locals() else "")
        print(f"note: {what} failed: {(tail or str(exc)).strip().splitlines()[-1:]}",
              file=sys.stderr)
        return None


def measure(python: str, framework: str, task: str, threads: int, batch: int = 0,
            samples: int = 0, epochs: int = 0, reps: int = 3, timeout: float = 900) -> list:
    """Seconds of each of the worker's repetitions ([] if it failed)."""
    cmd = [python, str(pathlib.Path(__file__).resolve()), "--worker", framework, "--task", task,
           "--threads", str(threads), "--batch", str(batch), "--samples", str(samples),
           "--epochs", str(epochs), "--reps", str(reps)]
    return run_json(cmd, worker_env(framework, threads), f"{framework} {task} t{threads} b{batch}",
                    timeout) or []


def interleaved(pythons: dict, rounds: int, **kwargs) -> dict:
    """Median seconds per framework, from ``rounds`` rounds of subprocesses.

    The frameworks take turns (in a rotated order each round) so that a
    change in the machine's load hits them all alike instead of whichever
    ran at the time.
    """
    order = [fw for fw in FRAMEWORKS if pythons[fw]]
    times: dict = {fw: [] for fw in order}
    for r in range(rounds):
        for fw in order[r % len(order):] + order[:r % len(order)]:
            extra = {"samples": min(kwargs["samples"], 2048)} if fw == "numpy" and \
                kwargs.get("samples") else {}  # the slow NumPy peer: fewer samples
            times[fw] += measure(pythons[fw], fw, **{**kwargs, **extra})
    return {fw: statistics.median(t) if t else float("nan") for fw, t in times.items()}


def _fmt(value: float, digits: int = 0) -> str:
    return "-" if value != value else f"{value:,.{digits}f}"


def _ratio(a: float, b: float) -> str:
    return "-" if a != a or b != b or b == 0 else f"{a / b:.2f}x"


def _inference_rows(threads: list, pythons: dict, quick: bool) -> list:
    """``bench_inference``'s latencies as table rows (us per call; numpy has none)."""
    import bench_inference
    measured, _ = bench_inference.rows(threads, tf_python=pythons["tf"], quick=quick,
                                       torch=pythons["torch"] is not None,
                                       tf=pythons["tf"] is not None)
    return [(f"predict {r['case']}", r["threads"],
             {"pymodel": 1e6 * r["pymodel predict"], "torch": 1e6 * r["torch"],
              "tf": 1e6 * r["tf-keras"]}, "us", False,
             f"model(x) {1e6 * r['pymodel call']:,.1f} us; torch: module call under no_grad")
            for r in measured]


def _memory_rows(nbytes: int) -> list:
    """``bench_memory``'s one-epoch fit on a memory-mapped file: peak RSS growth in MB."""
    import bench_memory
    streamed, loaded = bench_memory.run(nbytes, modes=("mmap", "in memory"))
    note = (f"{streamed['budget']} (<= {bench_memory.BUDGET_MB} MB); np.load into memory "
            f"instead: {loaded['growth_mb']:,.0f} MB; {streamed['samples_per_s']:,.0f} samples/s")
    return [(f"fit {streamed['file_mb']:,.0f} MB mmap, RSS+", 1, {"pymodel": streamed["growth_mb"]},
             "MB", False, note)]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="tiny sizes, 1 repetition, pymodel and numpy only (CI smoke run)")
    ap.add_argument("--frameworks", default=None,
                    help="comma-separated subset of pymodel,numpy,torch,tf")
    ap.add_argument("--tf-python", default=None,
                    help="interpreter with tensorflow + tf_keras (default: this one, if it has them)")
    ap.add_argument("--samples", type=int, default=None, help="MLP samples per epoch (16384)")
    ap.add_argument("--reps", type=int, default=None, help="timed repetitions (median)")
    ap.add_argument("--rounds", type=int, default=None,
                    help="rounds of subprocesses per row, frameworks taking turns (default 2)")
    ap.add_argument("--threads", default="1,2", help="thread counts for the MLP and GEMM rows")
    ap.add_argument("--no-gemm", action="store_true", help="leave out the GEMM rows")
    ap.add_argument("--no-inference", action="store_true", help="leave out the latency rows")
    ap.add_argument("--no-memory", action="store_true", help="leave out the memory row")
    ap.add_argument("--memory-mb", type=float, default=None,
                    help="size of the memory-mapped file (2048; --quick: 8)")
    ap.add_argument("--peak-gflops", type=float, default=None,
                    help="float32 peak of one core (default: measured clock x flop/cycle; the "
                         "clock probe reads low on a busy machine)")
    ap.add_argument("--worker", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    ap.add_argument("--task", choices=("mlp", "xor"), help=argparse.SUPPRESS)
    ap.add_argument("--batch", type=int, default=32, help=argparse.SUPPRESS)
    ap.add_argument("--epochs", type=int, default=1500, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        times = run_worker(args.worker, args.task, int(args.threads), args.batch, args.samples,
                           args.epochs, args.reps)
        print(json.dumps(times))
        return

    quick = args.quick
    samples = args.samples or (256 if quick else 16384)
    reps = args.reps or (1 if quick else 5)
    xor_epochs = 20 if quick else 1500
    rounds = args.rounds or (1 if quick else 2)
    threads = [int(t) for t in args.threads.split(",")]
    wanted = args.frameworks.split(",") if args.frameworks else (
        ["pymodel", "numpy"] if quick else list(FRAMEWORKS))
    pythons, notes = {}, []
    for fw in FRAMEWORKS:
        python, note = available(fw, args.tf_python) if fw in wanted else (None, "not requested")
        pythons[fw] = python
        if python is None:
            notes.append(f"{TITLES[fw]} skipped: {note}")

    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_gemm
    from pymodel._native import gemm as pm
    ghz, how = bench_gemm.clock_ghz()
    per_cycle, why = bench_gemm.fp32_flops_per_cycle(pm.get_variant())
    peak = (args.peak_gflops or ghz * per_cycle) * 1e9

    print(f"pymodel vs NumPy / PyTorch / tf-keras, float32, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f}, median of {rounds} x {reps} repetition(s), each "
          "subprocess after a warm-up")
    print(f"float32 peak per core: {ghz:.2f} GHz ({how}) x {per_cycle} flop/cycle [{why}] = "
          f"{ghz * per_cycle:.0f} GFLOP/s; percentages below use {peak / 1e9:.0f} GFLOP/s")
    rows = []  # (benchmark, threads, {framework: value}, unit, higher_is_better, note)
    for batch in (32, 256):
        for t in threads:
            secs = interleaved(pythons, rounds, task="mlp", threads=t, batch=batch,
                               samples=samples, reps=reps)
            speeds = {fw: (min(samples, 2048) if fw == "numpy" else samples) / sec
                      for fw, sec in secs.items()}
            pm_flops = speeds.get("pymodel", float("nan")) * MLP_FLOPS
            note = f"pymodel at {100 * pm_flops / (peak * t):.0f}% of the {t}-core peak"
            rows.append((f"MLP train b{batch}", t, speeds, "samples/s", True, note))
    times = {fw: 1e3 * sec for fw, sec in interleaved(
        pythons, rounds, task="xor", threads=1, epochs=xor_epochs, reps=reps).items()}
    rows.append((f"XOR fit() {xor_epochs} epochs", 1, times, "ms", False, "whole fit(), 4 samples"))
    if not args.no_inference:
        rows += _inference_rows(threads, pythons, quick)
    if not args.no_gemm:
        gemm_rows = bench_gemm.shapes(quick)
        if quick:
            gemm_rows = gemm_rows[:2]
        res = bench_gemm.measure_alternating(threads, gemm_rows, 1 if quick else 5, rounds,
                                             round_seconds=0.003 if quick else 0.02)
        for t in threads:
            for i, (label, m, n, k, _ta, _tb) in enumerate(gemm_rows):
                flops = 2.0 * m * n * k
                speeds = {lib: flops / res[lib, t][i] / 1e9 for lib in ("pymodel", "numpy")}
                note = f"pymodel at {100 * speeds['pymodel'] * 1e9 / (peak * t):.0f}% of the {t}-core peak"
                rows.append((f"GEMM {label}", t, speeds, "GFLOP/s", True, note))

    if not args.no_memory:  # last: its 2 GB of file pages must not colour the timings
        rows += _memory_rows(int((args.memory_mb or (8 if quick else 2048)) * 2**20))

    head = (f"{'benchmark':<30}{'thr':>4}{'unit':>10} | {'pymodel':>9}{'numpy':>9}{'torch':>9}"
            f"{'tf-keras':>9} | {'vs numpy':>8}{'vs torch':>9}{'vs tf':>9} | note")
    print(head)
    print("-" * len(head))
    nan = float("nan")
    for task, t, values, unit, higher, note in rows:
        digits = 0 if unit in ("samples/s", "MB") else 1
        cells = "".join(f"{_fmt(values.get(fw, nan), digits):>9}" for fw in FRAMEWORKS)
        mine = values.get("pymodel", nan)
        ratios = "".join(
            f"{_ratio(mine, values.get(fw, nan)) if higher else _ratio(values.get(fw, nan), mine):>{w}}"
            for fw, w in (("numpy", 8), ("torch", 9), ("tf", 9)))
        print(f"{task:<30}{t:>4}{unit:>10} | {cells} | {ratios} | {note}")
    print(f"MLP epochs of {samples} samples ({min(samples, 2048)} for NumPy); all subprocesses run with "
          + " ".join(f"{k}={v}" for k, v in OPENMP_WAIT.items()))
    print("vs X = how many times faster pymodel is than X (speed ratio; for ms, X's time / "
          "pymodel's); '-': not run")
    for note in notes:
        print("note:", note)


if __name__ == "__main__":
    main()
