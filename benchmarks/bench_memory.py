"""Peak memory of ``fit`` on a memory-mapped ``.npy``: streamed batches against data in memory.

Writes a float32 ``x`` of the given size (default 2 GiB: ~685k samples x 784)
to a temporary directory, then trains the benchmark MLP (784-512-256-10;
relu, relu, softmax; categorical crossentropy; Adam) for one epoch, batch
256, shuffled, one thread (``--threads``), in a fresh subprocess per row:

- ``mmap``: ``x = np.load(path, mmap_mode="r")``, one-hot ``y`` in memory;
- ``mmap x+y``: ``y`` is a second ``.npy`` opened the same way;
- ``in memory``: ``x = np.load(path)`` (read whole), for contrast.

The baseline is the subprocess's RSS after ``import pymodel``, the model built
and compiled and the in-memory ``y`` made, before ``x`` is opened; the peak
is VmHWM (reset to the baseline through ``/proc/self/clear_refs``) read after
``fit``, cross-checked by a thread sampling VmRSS. Growth = peak - baseline,
against a budget of 300 MB. The file was just written, so it is read from
the page cache: the numbers show memory, not disk speed.

    python benchmarks/bench_memory.py                 # 2 GiB file (a minute or two)
    python benchmarks/bench_memory.py --quick         # 64 MiB, seconds (CI)
    python benchmarks/bench_memory.py --dir /scratch  # where the temporary file goes

``run(...)`` returns the rows as dicts for other scripts' tables.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
MLP = (784, 512, 256, 10)
BUDGET_MB = 300
MB = 1 << 20
MODES = {"mmap": ("mmap", False), "mmap x+y": ("mmap", True), "in memory": ("load", False)}


# ================================================================== the subprocess
def _status_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def worker(x_path: str, y_path: str | None, load: str, batch: int, epochs: int) -> dict:
    """Build, compile, open the data, fit; the memory and speed figures as a dict."""
    import numpy as np

    import pymodel as keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Dense(MLP[1], activation="relu", input_shape=(MLP[0],)),
                              keras.layers.Dense(MLP[2], activation="relu"),
                              keras.layers.Dense(MLP[3], activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(), loss="categorical_crossentropy")
    if y_path is None:
        n = int(np.load(x_path, mmap_mode="r").shape[0])
        y = np.eye(MLP[-1], dtype=np.float32)[np.random.default_rng(1).integers(0, MLP[-1], n)]
    try:  # VmHWM := VmRSS from here on
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    baseline = _status_kb("VmRSS")
    sampled = [baseline]
    done = threading.Event()

    def sample():
        while not done.wait(0.005):
            sampled.append(_status_kb("VmRSS"))
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    x = np.load(x_path, mmap_mode="r" if load == "mmap" else None)
    if y_path is not None:
        y = np.load(y_path, mmap_mode="r")
    t0 = time.perf_counter()
    history = model.fit(x, y, batch_size=batch, epochs=epochs, shuffle=True, verbose=0)
    seconds = time.perf_counter() - t0
    done.set()
    thread.join()
    return {"baseline_kb": baseline, "peak_kb": _status_kb("VmHWM"), "sampled_kb": max(sampled),
            "samples": int(x.shape[0]) * epochs, "seconds": seconds,
            "loss": history.history["loss"][-1]}


# ================================================================== the driver
def write_npy(path, nbytes: int, dim: int = MLP[0], seed: int = 0) -> int:
    """A float32 (n, dim) ``.npy`` of about ``nbytes``, written in chunks; returns n."""
    import numpy as np
    n = max(1, nbytes // (dim * 4))
    rng = np.random.default_rng(seed)
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f4", "fortran_order": False, "shape": (n, dim)})
        for start in range(0, n, 16384):
            rng.random((min(16384, n - start), dim), dtype=np.float32).tofile(f)
    return n


def _measure(x_path, y_path, load: str, batch: int, epochs: int, threads: int) -> dict:
    env = dict(os.environ, PYMODEL_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    cmd = [sys.executable, __file__, "--worker", str(x_path), "--load", load,
           "--batch", str(batch), "--epochs", str(epochs)]
    if y_path is not None:
        cmd += ["--y", str(y_path)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"bench_memory worker failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(nbytes: int = 2 << 30, directory=None, batch: int = 256, epochs: int = 1,
        threads: int = 1, modes=tuple(MODES)) -> list[dict]:
    """One row per mode: baseline/peak/growth MB, file MB, samples/s, PASS/FAIL (the temp files
    are deleted afterwards)."""
    import numpy as np
    rows = []
    with tempfile.TemporaryDirectory(prefix="pymodel-bench-memory-", dir=directory) as tmp:
        x_path, y_path = pathlib.Path(tmp, "x.npy"), pathlib.Path(tmp, "y.npy")
        n = write_npy(x_path, nbytes)
        if any(MODES[m][1] for m in modes):
            labels = np.random.default_rng(1).integers(0, MLP[-1], n)
            np.save(y_path, np.eye(MLP[-1], dtype=np.float32)[labels])
        for mode in modes:
            load, y_file = MODES[mode]
            r = _measure(x_path, y_path if y_file else None, load, batch, epochs, threads)
            growth = (r["peak_kb"] - r["baseline_kb"]) / 1024
            rows.append({"data": mode, "file_mb": x_path.stat().st_size / MB,
                         "samples": r["samples"], "baseline_mb": r["baseline_kb"] / 1024,
                         "peak_mb": r["peak_kb"] / 1024, "sampled_mb": r["sampled_kb"] / 1024,
                         "growth_mb": growth, "samples_per_s": r["samples"] / r["seconds"],
                         "loss": r["loss"], "budget": "PASS" if growth <= BUDGET_MB else "FAIL"})
    return rows


def table(rows: list[dict], batch: int = 256) -> str:
    """The rows as a markdown table."""
    lines = [(f"| data (fit 1 epoch, batch {batch}, shuffled) | file MB | samples | baseline MB | "
              f"peak MB | growth MB | samples/s | <= {BUDGET_MB} MB |"),
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        lines.append(f"| {r['data']} | {r['file_mb']:,.0f} | {r['samples']:,} | "
                     f"{r['baseline_mb']:,.0f} | {r['peak_mb']:,.0f} | {r['growth_mb']:,.0f} | "
                     f"{r['samples_per_s']:,.0f} | {r['budget']} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a 64 MiB file (seconds)")
    ap.add_argument("--size-mb", type=float, default=None, help="size of x (default 2048)")
    ap.add_argument("--dir", default=None, help="directory of the temporary files")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1, help="pymodel threads (samples/s on one "
                    "core is what stays comparable on a shared machine)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--y", help=argparse.SUPPRESS)
    ap.add_argument("--load", default="mmap", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.y, args.load, args.batch, args.epochs)))
        return
    size_mb = args.size_mb or (64 if args.quick else 2048)
    rows = run(int(size_mb * MB), args.dir, args.batch, args.epochs, args.threads)
    print(table(rows, args.batch))


if __name__ == "__main__":
    main()
