"""Inference latency: pymodel's ``predict`` and ``model(x)`` against PyTorch and tf-keras.

Prints one table, for 1 and 2 threads, of the median time of one call on:

- the seed notebook's network, Dense(2, input_dim=2, sigmoid), Dense(1, sigmoid), 1 sample;
- the MLP 784-512-256-10 (relu, relu, softmax), 1 sample and a batch of 256
  (``predict(x, batch_size=256)``: one batch, as PyTorch's call).

Columns: pymodel ``model.predict(x, verbose=0)``, pymodel ``model(x)``, PyTorch's
``nn.Sequential`` called under ``torch.no_grad()`` (if torch is installed) and tf-keras's
``model.predict(x, verbose=0)`` (with ``--tf-python PATH``, or when this interpreter has
tf_keras). pymodel and PyTorch run in this process, taking turns in blocks of 10 calls (so
a change of load on a shared machine hits both alike, while each keeps its weights in the
caches), with ``pymodel.set_num_threads`` / ``torch.set_num_threads``; tf-keras runs in a subprocess with its threads pinned as
``run.py`` pins them. Ratios: the other's time over pymodel's (> 1: pymodel is faster).

    python benchmarks/bench_inference.py
    python benchmarks/bench_inference.py --tf-python /work/venv-tf/bin/python
    python benchmarks/bench_inference.py --quick          # pymodel only, a few seconds (CI)

:func:`rows` returns the measurements for another table (``run.py``'s).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import run  # benchmarks/run.py: the tf-keras subprocess helpers

#: (row label, network, samples)
CASES = (("seed net 1 sample", "seed", 1), ("MLP 1 sample", "mlp", 1),
         ("MLP batch 256", "mlp", 256))
COLUMNS = ("pymodel predict", "pymodel call", "torch", "tf-keras")


def _x(kind: str, rows: int):
    import numpy as np
    return np.random.default_rng(0).random((rows, 2 if kind == "seed" else run.MLP[0]),
                                           dtype=np.float32)


def _keras_model(keras, kind: str):
    layers = keras.layers
    if kind == "seed":
        return keras.Sequential([layers.Dense(2, input_dim=2, activation="sigmoid"),
                                 layers.Dense(1, activation="sigmoid")])
    a, b, c, d = run.MLP
    return keras.Sequential([layers.Dense(b, activation="relu", input_shape=(a,)),
                             layers.Dense(c, activation="relu"),
                             layers.Dense(d, activation="softmax")])


def _torch_model(torch, kind: str):
    nn = torch.nn
    if kind == "seed":
        return nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid()).eval()
    a, b, c, d = run.MLP
    return nn.Sequential(nn.Linear(a, b), nn.ReLU(), nn.Linear(b, c), nn.ReLU(),
                         nn.Linear(c, d), nn.Softmax(dim=1)).eval()


def _alternating(fns: dict, reps: int, block: int = 10) -> dict:
    """Median seconds of one call of each function, over ``reps`` timed calls each.

    The functions take turns in blocks of ``block`` calls (each block after one untimed
    call), so that all see the same machine load and each runs with its own weights in
    the caches, as a model called again and again does.
    """
    names = list(fns)
    times: dict = {name: [] for name in names}
    clock = time.perf_counter
    for r in range(max(1, reps // block)):
        for name in names[r % len(names):] + names[:r % len(names)]:
            fn = fns[name]
            fn()
            for _ in range(block):
                t0 = clock()
                fn()
                times[name].append(clock() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def _reps(rows: int, quick: bool) -> int:
    return (10 if rows > 1 else 50) if quick else (100 if rows > 1 else 500)


def _tf_worker(threads: int, quick: bool) -> dict:
    """Runs in the tf-keras subprocess: {row label: median seconds of predict}."""
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import tf_keras as keras
    result = {}
    for label, kind, rows in CASES:
        model, x = _keras_model(keras, kind), _x(kind, rows)
        result[label] = _alternating(
            {label: lambda m=model, x=x, n=rows: m.predict(x, batch_size=n, verbose=0)},
            _reps(rows, quick) // 5, block=5)[label]
    return result


def rows(threads=(1, 2), tf_python: str | None = None, quick: bool = False,
         torch: bool = True, tf: bool = True) -> tuple[list, list]:
    """``([{"case", "threads", column: seconds or nan, ...}], notes)`` for :data:`CASES`.

    ``tf_python``: an interpreter with tensorflow and tf_keras (default: this one if it has
    them; otherwise the column is left out with a note). ``torch``/``tf``: run those peers.
    """
    sys.path.insert(0, str(run.ROOT))
    import pymodel
    notes = []
    torch_mod = None
    if torch:
        try:
            import torch as torch_mod
            torch_mod.set_num_interop_threads(1)
        except ImportError:
            notes.append("torch skipped: not installed")
    else:
        notes.append("torch skipped: not requested")
    tf_python = (tf_python or run.available("tf", None)[0]) if tf else None
    if tf_python is None:
        notes.append("tf-keras skipped: " + ("not importable here (pass --tf-python PATH)"
                                             if tf else "not requested"))
    models = {kind: _keras_model(pymodel, kind) for kind in ("seed", "mlp")}
    if torch_mod is not None:
        torch_models = {kind: _torch_model(torch_mod, kind) for kind in ("seed", "mlp")}
    nan = float("nan")
    result = []
    for t in threads:
        pymodel.set_num_threads(t)
        if torch_mod is not None:
            torch_mod.set_num_threads(t)
        tf_times = {}
        if tf_python is not None:
            cmd = [tf_python, str(pathlib.Path(__file__).resolve()), "--worker-tf",
                   "--threads", str(t)] + (["--quick"] if quick else [])
            tf_times = run.run_json(cmd, run.worker_env("tf", t), f"tf-keras t{t}") or {}
        for label, kind, n in CASES:
            model, x = models[kind], _x(kind, n)
            fns = {"pymodel predict": lambda m=model, x=x, n=n: m.predict(x, batch_size=n,
                                                                          verbose=0),
                   "pymodel call": lambda m=model, x=x: m(x)}
            if torch_mod is not None:
                tmodel, tx = torch_models[kind], torch_mod.from_numpy(x)
                fns["torch"] = lambda m=tmodel, x=tx: m(x)
                with torch_mod.no_grad():
                    times = _alternating(fns, _reps(n, quick))
            else:
                times = _alternating(fns, _reps(n, quick))
            result.append({"case": label, "threads": t, **{c: nan for c in COLUMNS}, **times,
                           "tf-keras": tf_times.get(label, nan)})
    return result, notes


def _cell(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1e6:,.1f}"


def _ratio(other: float, mine: float) -> str:
    return "-" if math.isnan(other) or math.isnan(mine) else f"{other / mine:.2f}x"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="few repetitions, 1 thread, pymodel only (CI smoke run)")
    ap.add_argument("--threads", default=None, help="thread counts (default 1,2; --quick: 1)")
    ap.add_argument("--tf-python", default=None,
                    help="interpreter with tensorflow + tf_keras (default: this one, if it has them)")
    ap.add_argument("--worker-tf", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    threads = [int(t) for t in (args.threads or ("1" if args.quick else "1,2")).split(",")]
    if args.worker_tf:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        print(json.dumps(_tf_worker(threads[0], args.quick)))
        return
    table, notes = rows(threads, tf_python=args.tf_python, quick=args.quick,
                        torch=not args.quick, tf=not args.quick or bool(args.tf_python))
    print(f"inference latency, float32, median us per call, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f}")
    head = (f"{'case':<20}{'thr':>4} | {'predict':>9}{'model(x)':>10}{'torch':>9}{'tf-keras':>10}"
            f" | {'torch/predict':>14}{'torch/call':>11}{'tf/predict':>11}")
    print(head)
    print("-" * len(head))
    for row in table:
        pm_predict, pm_call = row["pymodel predict"], row["pymodel call"]
        print(f"{row['case']:<20}{row['threads']:>4} | {_cell(pm_predict):>9}{_cell(pm_call):>10}"
              f"{_cell(row['torch']):>9}{_cell(row['tf-keras']):>10} | "
              f"{_ratio(row['torch'], pm_predict):>14}{_ratio(row['torch'], pm_call):>11}"
              f"{_ratio(row['tf-keras'], pm_predict):>11}")
    print("predict = model.predict(x, batch_size=rows, verbose=0); model(x) = the call; torch = "
          "nn.Sequential under no_grad; ratios > 1: pymodel is faster")
    for note in notes:
        print("note:", note)


if __name__ == "__main__":
    main()
