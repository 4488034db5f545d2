"""Datasets named in a spec: inline arrays, or .npy / .npz / .csv files relative to the spec's folder.

A problem with the data (a missing .npz key, an unknown CSV column, text in a
number column) is a problem with the spec, so it raises ``SpecError`` naming
the JSON pointer of the entry that referred to the data.
"""
from __future__ import annotations

import csv
import os
import pathlib
import zipfile
import zlib
from typing import Any, Sequence

import numpy as np

from pymodel.spec import Issue, SpecError, pointer

__all__ = ["load_array", "load_dataset", "load_inputs", "read_csv", "write_csv", "save_array"]


def _fail(where: Sequence, message: str):
    raise SpecError([Issue(pointer(where), message)])


def read_csv(path, where: Sequence = ()) -> tuple[list[str], np.ndarray]:
    """Read a CSV with a header row; returns (column names, float64 array of shape (rows, columns))."""
    path = pathlib.Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = [r for r in csv.reader(f) if r]
    except (OSError, UnicodeDecodeError) as e:
        _fail(where, f"cannot read {path}: {getattr(e, 'strerror', None) or e}")
    if not rows:
        _fail(where, f"{path.name} is empty; expected a header row then numbers")
    header = [h.strip() for h in rows[0]]
    body = rows[1:]
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            _fail(where, f"{path.name} line {line} has {len(row)} fields, the header has {len(header)}")
    try:
        values = np.array([[float(v) for v in row] for row in body], dtype=np.float64).reshape(len(body), len(header))
    except ValueError as e:
        _fail(where, f"{path.name}: {e} (all values must be numbers)")
    return header, values


def _columns(header: list[str], names: Sequence[str], path: pathlib.Path, where: Sequence) -> list[int]:
    missing = [n for n in names if n not in header]
    if missing:
        _fail(where, f"column(s) {', '.join(map(repr, missing))} not in {path.name} (columns: {', '.join(header)})")
    return [header.index(n) for n in names]


def load_array(source: Any, base_dir, where: Sequence) -> np.ndarray:
    """One array from an inline list, a path, or ``{path, key, columns}``; float64."""
    if isinstance(source, list):
        try:
            return np.array(source, dtype=np.float64)
        except (ValueError, TypeError):  # ragged, or holding null / strings / objects
            _fail(where, "inline data must be a rectangular array of numbers")
    src = {"path": source} if isinstance(source, str) else dict(source)
    path = pathlib.Path(base_dir) / src["path"]
    where = list(where) + ([] if isinstance(source, str) else ["path"])
    suffix = path.suffix.lower()
    if suffix == ".csv":
        header, values = read_csv(path, where)
        cols = src.get("columns")
        return values if cols is None else values[:, _columns(header, cols, path, where)]
    problem = None
    try:
        loaded = _load_numpy(path, src.get("key") if suffix == ".npz" else None)
    except (OSError, ValueError, MemoryError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        problem = f"cannot load {path.name}: {e}"
    if problem is not None:
        _fail(where, problem)
    if isinstance(loaded, list):
        _fail(where, f"{path.name} has no array {src['key']!r} (it has: {', '.join(loaded)})")
    if not isinstance(loaded, np.ndarray):
        _fail(where, f"{path.name}: member {src['key']!r} is not a NumPy array")
    if not np.issubdtype(loaded.dtype, np.number) and loaded.dtype != np.bool_:
        _fail(where, f"{path.name} holds {loaded.dtype} data, expected numbers")
    return np.array(loaded, dtype=np.float64)


def _load_numpy(path: pathlib.Path, key):
    """The array in a .npy file, or ``key`` of a .npz (the list of keys if it has no such member).

    Never unpickles; a .npy is memory-mapped first, so a header claiming more data
    than the file holds fails before anything is allocated, and a .npz member
    that would inflate past memory is refused before it is read.
    """
    if key is None:
        return np.load(path, allow_pickle=False, mmap_mode="r")
    from pymodel.validation import memory_limit
    with np.load(path, allow_pickle=False) as archive:
        if key not in archive.files:
            return list(archive.files)
        size = archive.zip.getinfo(f"{key}.npy").file_size
        if size > memory_limit() // 2:
            raise ValueError(f"member {key!r} would inflate to {size:,} bytes, more than this "
                             "machine can hold")
        return archive[key]


def load_dataset(dataset: dict, base_dir, where: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) for a spec dataset: ``{x, y}`` sources or ``{csv, targets, features?}``."""
    where = list(where)
    if "csv" in dataset:
        path = pathlib.Path(base_dir) / dataset["csv"]
        header, values = read_csv(path, where + ["csv"])
        targets = _columns(header, dataset["targets"], path, where + ["targets"])
        features = dataset.get("features") or [h for h in header if h not in dataset["targets"]]
        x = values[:, _columns(header, features, path, where + ["features"])]
        return x, values[:, targets]
    x = load_array(dataset["x"], base_dir, where + ["x"])
    y = load_array(dataset["y"], base_dir, where + ["y"])
    if len(x) != len(y):
        _fail(where, f"x has {len(x)} samples but y has {len(y)}")
    return x, y


def load_inputs(dataset: dict, base_dir, where: Sequence) -> np.ndarray:
    """x for a predict set: ``{x}`` or ``{csv, features?}`` (target columns, if named, are dropped)."""
    if "csv" in dataset:
        path = pathlib.Path(base_dir) / dataset["csv"]
        header, values = read_csv(path, list(where) + ["csv"])
        drop = set(dataset.get("targets", []))
        features = dataset.get("features") or [h for h in header if h not in drop]
        return values[:, _columns(header, features, path, list(where) + ["features"])]
    return load_array(dataset["x"], base_dir, list(where) + ["x"])


def write_csv(path, array: np.ndarray, header: Sequence[str] | None = None) -> None:
    """Write a 1-D or 2-D array as CSV with a header row (``y0, y1, ...`` by default)."""
    a = np.asarray(array)
    a = a.reshape(len(a), -1)
    header = list(header) if header is not None else [f"y{i}" for i in range(a.shape[1])]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows([[repr(float(v)) for v in row] for row in a])


def save_array(path, array: np.ndarray) -> None:
    """Write predictions as .npy or .csv, chosen by the file's extension."""
    if os.fspath(path).lower().endswith(".csv"):
        write_csv(path, array)
    else:
        np.save(path, np.asarray(array), allow_pickle=False)
