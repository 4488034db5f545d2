"""Regenerate the example datasets (CSV with a header row) reproducibly: ``python examples/data/make_datasets.py [OUT_DIR]``.

blobs_{train,test}.csv       3 classes of 4-D Gaussian blobs; columns x1..x4, label (0, 1, 2)
regression_{train,test}.csv  y = 1.5 x1 - 2 x2^2 + sin(pi x3) + noise(0.05), x uniform in [-1, 1]^3
"""
import pathlib
import sys

import numpy as np

OUT = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent


def write(name: str, header: list[str], rows: np.ndarray) -> None:
    lines = [",".join(header)] + [",".join(f"{v:.6g}" for v in row) for row in rows]
    (OUT / name).write_text("\n".join(lines) + "\n")


def blobs(rng: np.random.Generator, n_per_class: int) -> np.ndarray:
    centers = np.array([[0.0, 0.0, 0.0, 0.0], [3.0, 3.0, 0.0, 1.0], [0.0, 3.5, 3.0, -1.0]])
    parts = [np.column_stack([c + rng.normal(0.0, 1.0, (n_per_class, 4)), np.full(n_per_class, k)])
             for k, c in enumerate(centers)]
    data = np.concatenate(parts)
    return data[rng.permutation(len(data))]


def regression(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.uniform(-1.0, 1.0, (n, 3))
    y = 1.5 * x[:, 0] - 2.0 * x[:, 1] ** 2 + np.sin(np.pi * x[:, 2]) + rng.normal(0.0, 0.05, n)
    return np.column_stack([x, y])


def main() -> None:
    rng = np.random.default_rng(20240601)
    write("blobs_train.csv", ["x1", "x2", "x3", "x4", "label"], blobs(rng, 100))
    write("blobs_test.csv", ["x1", "x2", "x3", "x4", "label"], blobs(rng, 40))
    write("regression_train.csv", ["x1", "x2", "x3", "y"], regression(rng, 400))
    write("regression_test.csv", ["x1", "x2", "x3", "y"], regression(rng, 100))


if __name__ == "__main__":
    main()
