"""Regenerate the 8x8 digits CSV files from scikit-learn's bundled copy of the UCI digits set.

    python examples/data/digits/make_digits.py [OUT_DIR]     (needs scikit-learn; pymodel itself does not)

train.csv / test.csv: columns p0..p63 (pixel intensities 0..16 scaled to [0, 1],
row-major 8x8 image) and label (0..9). A seeded, stratified-by-shuffle 80/20 split.
"""
import pathlib
import sys

import numpy as np
from sklearn.datasets import load_digits

OUT = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent


def write(name: str, x: np.ndarray, y: np.ndarray) -> None:
    header = [f"p{i}" for i in range(x.shape[1])] + ["label"]
    rows = [",".join(f"{v:.4g}" for v in row) + f",{label}" for row, label in zip(x, y)]
    (OUT / name).write_text(",".join(header) + "\n" + "\n".join(rows) + "\n")


def main() -> None:
    digits = load_digits()
    x, y = digits.data / 16.0, digits.target
    order = np.random.default_rng(20241128).permutation(len(x))
    cut = round(0.8 * len(x))
    write("train.csv", x[order[:cut]], y[order[:cut]])
    write("test.csv", x[order[cut:]], y[order[cut:]])


if __name__ == "__main__":
    main()
