"""benchmarks/run.py --quick runs end to end and prints the table's rows (speed is never asserted)."""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_quick_benchmark_prints_mlp_xor_latency_memory_and_gemm_rows():
    res = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick",
                          "--threads", "1"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    header = next(line for line in lines if line.startswith("benchmark"))
    for column in ("pymodel", "numpy", "torch", "tf-keras", "vs numpy", "vs torch", "vs tf"):
        assert column in header
    rows = {line.split("  ")[0]: line for line in lines
            if line.startswith(("MLP train", "XOR fit", "GEMM"))}
    assert {"MLP train b32", "MLP train b256", "XOR fit() 20 epochs"} <= set(rows)
    assert any(name.startswith("GEMM") for name in rows)
    for line in rows.values():
        cells = line.split("|")[1].split()
        assert cells[0] != "-" and cells[1] != "-"  # pymodel and numpy were measured
        assert cells[2] == "-" and cells[3] == "-"  # peers are left out of --quick
    latency = [line for line in lines if line.startswith("predict ")]
    assert [line.split("  ")[0] for line in latency] == [
        "predict seed net 1 sample", "predict MLP 1 sample", "predict MLP batch 256"]
    for line in latency:
        assert float(line.split("|")[1].split()[0].replace(",", "")) > 0  # pymodel measured
    memory = next(line for line in lines if line.startswith("fit 8 MB mmap"))
    assert "PASS" in memory and "np.load into memory instead" in memory
    assert "note: torch skipped" in res.stdout and "note: tf-keras skipped" in res.stdout


def test_quick_gemm_benchmark_times_the_kernels_from_python_and_from_c():
    res = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_gemm.py"), "--quick",
                          "--from-c", "--threads", "1"], capture_output=True, text=True, timeout=300,
                         cwd=ROOT)
    assert res.returncode == 0, res.stderr
    out = res.stdout.split("Kernels timed in C")
    assert len(out) == 2, res.stdout  # the C table follows the Python one
    for table in out:
        rows = [line for line in table.splitlines() if line.startswith("square 64")]
        assert len(rows) == 1
        pymodel_gflops, peer_gflops, ratio = rows[0].split("|")[1].split()
        assert float(pymodel_gflops) > 0 and float(peer_gflops) > 0 and ratio.endswith("x")
