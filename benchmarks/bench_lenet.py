"""Training speed of a LeNet-sized CNN: pymodel vs PyTorch (CPU), samples per second.

    python benchmarks/bench_lenet.py [--samples 2048] [--batch 64] [--epochs 3] [--threads 1 2]

Conv2D(6,5,relu) -> MaxPool2 -> Conv2D(16,5,relu) -> MaxPool2 -> Flatten -> Dense(120,relu) ->
Dense(84,relu) -> Dense(10,softmax) on random 28x28x1 inputs, sparse categorical crossentropy, Adam,
float32, no shuffling. Each thread count runs in its own child process (thread pools start clean);
there both libraries train one warm-up epoch, then ``--epochs`` timed epochs alternating between
them (so a shared machine's changing load hits both alike), and the best epoch of each is reported.
PyTorch is only a reference peer; pymodel never depends on it.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np


def data(samples: int):
    rng = np.random.default_rng(0)
    return rng.random((samples, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, samples)


def pymodel_epoch(x, y, batch: int):
    """A compiled pymodel LeNet and a function that trains it for one epoch."""
    import pymodel as keras
    L = keras.layers
    np.random.seed(0)
    model = keras.Sequential([
        L.Conv2D(6, 5, activation="relu", input_shape=(28, 28, 1)), L.MaxPooling2D(),
        L.Conv2D(16, 5, activation="relu"), L.MaxPooling2D(), L.Flatten(),
        L.Dense(120, activation="relu"), L.Dense(84, activation="relu"), L.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    return lambda: model.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0)


def torch_epoch(x, y, batch: int, threads: int):
    """The same network in PyTorch (NCHW) and a function that trains it for one epoch."""
    import torch
    from torch import nn
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()  # softmax + crossentropy on the logits, as Keras computes it
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    yt = torch.from_numpy(y.astype(np.int64))

    def epoch():
        for start in range(0, len(xt), batch):
            opt.zero_grad()
            loss = loss_fn(model(xt[start:start + batch]), yt[start:start + batch])
            loss.backward()
            opt.step()
    return epoch


def child(args) -> None:
    """Time both libraries at the thread count set in the environment; print JSON samples/s."""
    x, y = data(args.samples)
    runs = {"pymodel": pymodel_epoch(x, y, args.batch)}
    try:
        runs["torch"] = torch_epoch(x, y, args.batch, args.child)
    except ImportError:
        pass
    best = {}
    for round_ in range(args.epochs + 1):  # round 0 is the warm-up
        for name, epoch in runs.items():
            t = time.perf_counter()
            epoch()
            if round_:
                best[name] = min(best.get(name, float("inf")), time.perf_counter() - t)
    print(json.dumps({name: len(x) / best[name] for name in ("pymodel", "torch") if name in best}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=2048)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args)
        return
    print(f"LeNet training, {args.samples} samples of 28x28x1, batch {args.batch}, best of {args.epochs} alternating epochs")
    print(f"{'threads':>7}  {'pymodel samples/s':>17}  {'torch samples/s':>15}  {'pymodel/torch':>13}")
    for n in args.threads:
        env = dict(os.environ, PYMODEL_NUM_THREADS=str(n), OMP_NUM_THREADS=str(n))
        out = subprocess.run([sys.executable, __file__, "--child", str(n), "--samples", str(args.samples),
                              "--batch", str(args.batch), "--epochs", str(args.epochs)],
                             env=env, capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        torch_text = f"{r['torch']:15.0f}" if "torch" in r else f"{'n/a':>15}"
        ratio = f"{r['pymodel'] / r['torch']:12.2f}x" if "torch" in r else f"{'n/a':>13}"
        print(f"{n:>7}  {r['pymodel']:17.0f}  {torch_text}  {ratio}")


if __name__ == "__main__":
    main()
