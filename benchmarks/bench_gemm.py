"""GEMM speed: pymodel's pm_gemm against numpy.matmul, float32, 1 and 2 threads.

Prints one table: square products n = 64 ... 2048, one-sample inference
through an MLP 784-512-256-10 (x @ W with one row) and that MLP's GEMMs
(forward x @ W, backward dX = dY @ W.T and dW = X.T @ dY) for batches 32, 128
and 256, as GFLOP/s (median of several timed repetitions,
after a warm-up) and the pymodel / numpy ratio. Then the float32 FMA peak of
one core (clock x SIMD lanes x FMA pipes x 2) and the % of it reached at
n = 1024.

Each (library, thread count) runs in its own subprocesses, the libraries taking
turns every four shapes, over --rounds rounds (a change of load hits both; the
table shows the median over rounds), with
OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / PYMODEL_NUM_THREADS set there: that
sets numpy's thread count without threadpoolctl and keeps one library's idle
(spinning) thread pool from slowing the other's timings.

    python benchmarks/bench_gemm.py            # full table (about a minute)
    python benchmarks/bench_gemm.py --quick    # a few small shapes (CI)
    python benchmarks/bench_gemm.py --cpu-time # 1-thread columns by CPU time
    python benchmarks/bench_gemm.py --only '^b1 |->10'   # rows matching a regex
    python benchmarks/bench_gemm.py --from-c   # also kernel against kernel, timed in C

--from-c adds columns timed by a C loop that calls pymodel's pm_gemm_f32 and
the cblas_sgemm of the very OpenBLAS numpy loaded, through their C entry
points: the kernels alone, without either Python binding (numpy's matmul
costs about 0.9 us per call, pymodel's cffi call about 2 us, which decides
the smallest products).

On a shared machine numbers move with the load: run it twice and compare.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import re
import shlex
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent

MLP = [784, 512, 256, 10]
SQUARE = [64, 128, 256, 512, 1024, 2048]
BATCHES = [32, 128, 256]


def shapes(quick: bool) -> list:
    """(label, m, n, k, trans_a, trans_b) for every product in the table."""
    rows = [(f"square {s}", s, s, s, False, False) for s in (SQUARE[:3] if quick else SQUARE)]
    rows += [(f"b1 {fan_in}->{fan_out} x@W", 1, fan_out, fan_in, False, False)
             for fan_in, fan_out in zip(MLP, MLP[1:])]
    for batch in BATCHES[:1] if quick else BATCHES:
        for fan_in, fan_out in zip(MLP, MLP[1:]):
            rows += [
                (f"b{batch} {fan_in}->{fan_out} x@W", batch, fan_out, fan_in, False, False),
                (f"b{batch} {fan_in}->{fan_out} dY@W.T", batch, fan_in, fan_out, False, True),
                (f"b{batch} {fan_in}->{fan_out} X.T@dY", fan_in, fan_out, batch, True, False),
            ]
    return rows


# ------------------------------------------------------------------ worker

def run_worker(library: str, rows: list, reps: int, clock, round_seconds: float) -> list:
    """Median seconds per product for each row, in this process, timed with ``clock``."""
    import numpy as np

    if library == "pymodel":
        from pymodel._native import gemm as pm
    rng = np.random.default_rng(0)
    out = []
    for _label, m, n, k, ta, tb in rows:
        a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
        b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
        c = np.empty((m, n), np.float32)
        if library == "pymodel":
            work = pm.workspace(m, n, k, np.float32)
            def call(a=a, b=b, c=c, ta=ta, tb=tb, work=work):
                pm.gemm(a, b, trans_a=ta, trans_b=tb, c=c, work=work)
        else:
            av, bv = (a.T if ta else a), (b.T if tb else b)
            def call(av=av, bv=bv, c=c):
                np.matmul(av, bv, out=c)
        # Rounds of round_seconds (enough for the timer); the first is warm-up.
        call()
        t0 = clock()
        call()
        inner = max(1, int(round_seconds / max(clock() - t0, 1e-6)))
        times = []
        for _ in range(reps + 1):
            t0 = clock()
            for _ in range(inner):
                call()
            times.append((clock() - t0) / inner)
        times = sorted(times[1:])
        out.append(times[len(times) // 2])
    return out


def measure(library: str, threads: int, rows: list, reps: int, cpu_time: bool,
            round_seconds: float) -> list:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    blas_threads = str(threads) if library == "numpy" else "1"
    env.update(OPENBLAS_NUM_THREADS=blas_threads, OMP_NUM_THREADS=blas_threads,
               MKL_NUM_THREADS=blas_threads, PYMODEL_NUM_THREADS=str(threads))
    cmd = [sys.executable, __file__, "--worker", library, "--reps", str(reps),
           "--round-seconds", str(round_seconds), "--rows", json.dumps(rows)]
    if cpu_time and threads == 1:
        cmd.append("--cpu-time")
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(res.stdout)


def measure_alternating(threads: list, rows: list, reps: int, rounds: int, round_seconds: float,
                        cpu_time: bool = False, group: int = 4) -> dict:
    """{(library, threads): median seconds per row, over rounds}.

    pymodel and numpy take turns every ``group`` rows, round after round, so that a
    change of load on a shared machine hits both libraries alike rather than one
    library's whole pass.
    """
    runs = {}
    for _ in range(rounds):
        for t in threads:
            for g0 in range(0, len(rows), group):
                for lib in ("pymodel", "numpy"):
                    times = measure(lib, t, rows[g0:g0 + group], reps, cpu_time, round_seconds)
                    runs.setdefault((lib, t), {}).setdefault(g0, []).append(times)
    return {key: [statistics.median(times) for g0 in sorted(groups) for times in zip(*groups[g0])]
            for key, groups in runs.items()}


# --------------------------------------------------------- kernels timed in C

C_TIMER = r"""
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
typedef int (*pm_fn)(int, int, int64_t, int64_t, int64_t, float, const float *, int64_t,
                     const float *, int64_t, float, float *, int64_t, void *, int64_t);
typedef int64_t (*pm_ws_fn)(int64_t, int64_t, int64_t);
typedef void (*blas64_fn)(int, int, int, int64_t, int64_t, int64_t, float, const float *, int64_t,
                          const float *, int64_t, float, float *, int64_t);
typedef void (*blas32_fn)(int, int, int, int, int, int, float, const float *, int,
                          const float *, int, float, float *, int);
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static int cmp(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
/* argv: library path, symbol ("pm" for pymodel), ilp64, threads, reps, seconds per rep;
   stdin: "m n k trans_a trans_b" lines; stdout: median seconds per call, one line each. */
int main(int argc, char **argv) {
    if (argc != 7) return 2;
    void *lib = dlopen(argv[1], RTLD_LAZY | RTLD_LOCAL);
    if (!lib) { fprintf(stderr, "%s\n", dlerror()); return 1; }
    const int is_pm = argv[2][0] == 'p' && argv[2][1] == 'm' && !argv[2][2];
    void *fn = dlsym(lib, is_pm ? "pm_gemm_f32" : argv[2]);
    if (!fn) { fprintf(stderr, "no symbol %s\n", argv[2]); return 1; }
    const int ilp64 = atoi(argv[3]), reps = atoi(argv[5]);
    const double seconds = atof(argv[6]);
    pm_ws_fn ws = is_pm ? (pm_ws_fn)dlsym(lib, "pm_gemm_workspace_size_f32") : NULL;
    if (is_pm) ((int (*)(int))dlsym(lib, "pm_set_num_threads"))(atoi(argv[4]));
    long m, n, k; int ta, tb;
    while (scanf("%ld %ld %ld %d %d", &m, &n, &k, &ta, &tb) == 5) {
        float *a = malloc(4 * m * k), *b = malloc(4 * k * n), *c = malloc(4 * m * n);
        for (long i = 0; i < m * k; i++) a[i] = (float)((i % 13) - 6) / 7;
        for (long i = 0; i < k * n; i++) b[i] = (float)((i % 11) - 5) / 5;
        const int64_t nw = is_pm ? ws(m, n, k) : 0;
        void *w = is_pm ? malloc(nw + 64) : NULL;
        const long lda = ta ? m : k, ldb = tb ? k : n;
        double t, times[64];
        long inner = 1;
        for (int r = -1; r < reps && r < 64; r++) {  /* r = -1: warm-up, sizes the inner loop */
            t = now();
            for (long i = 0; i < inner; i++) {
                if (is_pm) ((pm_fn)fn)(ta, tb, m, n, k, 1.f, a, lda, b, ldb, 0.f, c, n, w, nw);
                else if (ilp64)  /* CblasRowMajor, CblasNoTrans or CblasTrans */
                    ((blas64_fn)fn)(101, ta ? 112 : 111, tb ? 112 : 111, m, n, k, 1.f, a, lda, b, ldb,
                                    0.f, c, n);
                else
                    ((blas32_fn)fn)(101, ta ? 112 : 111, tb ? 112 : 111, m, n, k, 1.f, a, lda, b, ldb,
                                    0.f, c, n);
            }
            t = (now() - t) / inner;
            if (r < 0) inner = seconds / t > 1 ? (long)(seconds / t) : 1;
            else times[r] = t;
        }
        qsort(times, reps, sizeof times[0], cmp);
        printf("%.9g\n", times[reps / 2]);
        fflush(stdout);
        free(a); free(b); free(c); free(w);
    }
    return 0;
}
"""


def numpy_blas() -> tuple:
    """(path, cblas sgemm symbol, ilp64) of the BLAS numpy's matmul calls, or None."""
    import ctypes

    import numpy as np
    a = np.ones((64, 64), np.float32)
    np.matmul(a, a)  # loads it, if numpy loads it lazily
    with open("/proc/self/maps") as f:
        paths = sorted({line.split()[-1] for line in f if "blas" in line.lower() and ".so" in line})
    for path in paths:
        lib = ctypes.CDLL(path)
        for symbol, ilp64 in (("scipy_cblas_sgemm64_", 1), ("cblas_sgemm64_", 1),
                              ("scipy_cblas_sgemm", 0), ("cblas_sgemm", 0)):
            if hasattr(lib, symbol):
                return path, symbol, ilp64
    return None


def compile_c(source: str, tmp: str, name: str, *libs: str) -> str | None:
    """Build the C program ``source`` in ``tmp``; its path, or None without a C compiler."""
    cc = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    src, exe = pathlib.Path(tmp, name + ".c"), pathlib.Path(tmp, name)
    src.write_text(source)
    try:
        subprocess.run(cc + ["-O2", str(src), "-o", str(exe), *libs], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return str(exe)


def measure_in_c(timer: str, library: str, threads: int, rows: list, reps: int,
                 round_seconds: float, blas: tuple) -> list:
    """Median seconds per product, timed by the C loop in its own process."""
    import pymodel._C
    # (os.environ holds the OpenMP wait settings `import pymodel` made: the C
    # loop loads the core without Python)
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    if library == "pymodel":
        args = [pymodel._C.__file__, "pm", "0"]
    else:
        args = [blas[0], blas[1], str(blas[2])]
    spec = "".join(f"{m} {n} {k} {int(ta)} {int(tb)}\n" for _label, m, n, k, ta, tb in rows)
    res = subprocess.run([timer, *args, str(threads), str(min(reps, 64)), str(round_seconds)],
                         input=spec, env=env, capture_output=True, text=True, check=True)
    return [float(v) for v in res.stdout.split()]


# ------------------------------------------------------------------- peak

CLOCK_PROBE = r"""
#include <stdio.h>
#include <time.h>
/* CPU time of this thread: time spent descheduled on a busy machine does not count. */
static double now(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
int main(void) {
    long x = 0, y = 1, n = 20000000; double best = 1e9;
    for (int r = 0; r < 5; r++) {
        double t = now();
        for (long i = 0; i < n; i++)   /* 10 dependent adds: 10 cycles */
            __asm__ volatile("add %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\t"
                             "add %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0" : "+r"(x) : "r"(y));
        t = now() - t; if (t < best) best = t;
    }
    printf("%f\n", n * 10 / best / 1e9 + 0 * x);
    return 0;
}
"""


def _cpuinfo() -> list:
    try:
        with open("/proc/cpuinfo") as f:
            return f.readlines()
    except OSError:
        return []


def clock_ghz() -> tuple:
    """Core clock under load: a chain of dependent integer adds (1 cycle each), else /proc/cpuinfo."""
    if platform.machine() in ("x86_64", "AMD64"):
        with tempfile.TemporaryDirectory() as tmp:
            exe = compile_c(CLOCK_PROBE, tmp, "clk")
            try:
                if exe:
                    return float(subprocess.run([exe], capture_output=True, text=True, check=True).stdout), "measured"
            except (OSError, subprocess.CalledProcessError):
                pass
    for line in _cpuinfo():
        if line.startswith("cpu MHz"):
            return float(line.split(":")[1]) / 1000, "/proc/cpuinfo (base clock)"
    return float("nan"), "unknown"


def fp32_flops_per_cycle(variant: str) -> tuple:
    """2 (FMA) x float32 lanes x FMA pipes for the kernel variant in use, with the reasoning."""
    vendor = next((line.split(":")[1].strip() for line in _cpuinfo() if line.startswith("vendor_id")), "")
    if variant == "avx512":
        if vendor == "AuthenticAMD":  # Zen 4: two 256-bit FMA pipes, 512-bit ops take both
            return 2 * 16 * 1, "AVX-512 16 lanes x 1 FMA/cycle (Zen 4: 2 x 256-bit pipes)"
        return 2 * 16 * 2, "AVX-512 16 lanes x 2 FMA pipes"
    if variant == "avx2":
        return 2 * 8 * 2, "AVX2 8 lanes x 2 FMA pipes"
    return 2 * 4 * 2, "SSE 4 lanes x 2 pipes (mul+add)"


# -------------------------------------------------------------------- main

def print_table(rows: list, threads: list, results: dict, prefix: str, peer: str) -> None:
    """GFLOP/s of pymodel and the peer, and their ratio, per product and thread count."""
    head = f"{'product':<26}{'m x k @ k x n':>20}"
    for t in threads:
        head += f" | {t} thr: {'pymodel':>8} {peer:>8} {'ratio':>6}"
    print(head + "\n" + "-" * len(head))
    for i, (label, m, n, k, _ta, _tb) in enumerate(rows):
        flops = 2.0 * m * n * k
        line = f"{label:<26}{f'{m}x{k} @ {k}x{n}':>20}"
        for t in threads:
            p, q = results[prefix + "pymodel", t][i], results[prefix + "numpy", t][i]
            line += f" | {'':6}{flops / p / 1e9:>8.1f} {flops / q / 1e9:>8.1f} {q / p:>5.2f}x"
        print(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few small shapes, 3 repetitions (CI)")
    ap.add_argument("--reps", type=int, default=None, help="timed repetitions per shape (median)")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    ap.add_argument("--rounds", type=int, default=None,
                    help="rounds of subprocesses, pymodel and numpy taking turns every 4 shapes, median over rounds "
                         "(default 2, --quick 1)")
    ap.add_argument("--only", default=None, help="only the rows whose label matches this regex")
    ap.add_argument("--cpu-time", action="store_true",
                    help="time 1-thread runs by thread CPU time (steadier on a busy machine)")
    ap.add_argument("--from-c", action="store_true",
                    help="also time pm_gemm_f32 against numpy's own cblas_sgemm from a C loop")
    ap.add_argument("--worker", choices=["numpy", "pymodel"], help=argparse.SUPPRESS)
    ap.add_argument("--rows", help=argparse.SUPPRESS)
    ap.add_argument("--round-seconds", type=float, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    reps = args.reps or (3 if args.quick else 7)
    round_seconds = args.round_seconds or (0.003 if args.quick else 0.02)
    rounds = max(args.rounds or (1 if args.quick else 2), 1)

    if args.worker:
        clock = time.thread_time if args.cpu_time else time.perf_counter
        print(json.dumps(run_worker(args.worker, json.loads(args.rows), reps, clock, round_seconds)))
        return

    sys.path.insert(0, str(ROOT))
    from pymodel._native import gemm as pm

    rows = [r for r in shapes(args.quick) if args.only is None or re.search(args.only, r[0])]
    threads = [int(t) for t in args.threads.split(",")]
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if var in os.environ:
            print(f"note: {var}={os.environ[var]} is set and may slow numpy; unset it for a fair run")
    print(f"pymodel GEMM variant {pm.get_variant()}, float32, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}, median of {reps} repetitions x {rounds} rounds, "
          + ("1-thread runs by thread CPU time, others wall clock" if args.cpu_time
             else "wall clock (other load slows both libraries)"))
    timer = blas = None
    tmp = tempfile.TemporaryDirectory()
    if args.from_c:
        blas = numpy_blas()
        timer = compile_c(C_TIMER, tmp.name, "gemm_timer", "-ldl") if blas else None
        if timer is None:
            print("note: --from-c skipped: " + ("no C compiler" if blas else "numpy's BLAS not found"))
    results = measure_alternating(threads, rows, reps, rounds, round_seconds, args.cpu_time)
    if timer:
        runs = {}
        for _ in range(rounds):
            for t in threads:
                for lib in ("pymodel", "numpy"):
                    runs.setdefault(("C " + lib, t), []).append(
                        measure_in_c(timer, lib, t, rows, reps, round_seconds, blas))
        results.update({key: [statistics.median(times) for times in zip(*per_round)]
                        for key, per_round in runs.items()})
    tmp.cleanup()

    print_table(rows, threads, results, "", "numpy")
    print("GFLOP/s; ratio = pymodel speed / numpy speed (> 1: pymodel faster); "
          f"load average now {os.getloadavg()[0]:.2f}")
    if timer:
        print(f"\nKernels timed in C: pm_gemm_f32 against {blas[1]} of {pathlib.Path(blas[0]).name}")
        print_table(rows, threads, results, "C ", "OpenBLAS")
        print("GFLOP/s; ratio = pm_gemm speed / OpenBLAS speed, no Python on either side")

    ghz, how = clock_ghz()
    per_cycle, why = fp32_flops_per_cycle(pm.get_variant())
    peak = ghz * per_cycle
    print(f"\nfloat32 peak per core: {ghz:.2f} GHz ({how}) x {per_cycle} flop/cycle [{why}] = {peak:.1f} GFLOP/s")
    for i, (label, m, n, k, _ta, _tb) in enumerate(rows):
        if label == "square 1024":
            for t in threads:
                p, q = results["pymodel", t][i], results["numpy", t][i]
                gf, gq = 2.0 * m * n * k / p / 1e9, 2.0 * m * n * k / q / 1e9
                print(f"n=1024, {t} thread(s): pymodel {100 * gf / (peak * t):.0f}% of peak, "
                      f"numpy {100 * gq / (peak * t):.0f}%")


if __name__ == "__main__":
    main()
