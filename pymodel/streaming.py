"""Samples of a memory-mapped array (``np.load(..., mmap_mode="r")``) read through its file.

``fit``, ``evaluate`` and ``predict`` take a file-backed input as a
:class:`Rows`: batches (by index when shuffled) are read with ``pread`` into
the batch buffers and cast to the model dtype there, so the array is never
copied or cast whole, and a float64 or uint8 file gives exactly the numbers
of casting it first.

NOTE: why the file and not the mapping: pages a process maps count in its
RSS and stay there while memory is plentiful, and on current kernels one
fault maps a whole large page-cache folio (up to 2 MiB, measured on Linux
6.18/ext4), so one shuffled batch of 256 rows can map half a gigabyte of the
file. ``pread`` leaves the data in the page cache only (a reread is cheap);
this process holds just the buffers.
"""
from __future__ import annotations

import math
import mmap
import os
import weakref

import numpy as np

#: bytes of samples per read of a sequential pass and per staged chunk of batches
CHUNK_BYTES = 8 << 20


class _File:
    """A read-only descriptor of the mapped file, closed with its last user."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self.fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        weakref.finalize(self, os.close, self.fd)


class Rows:
    """``n`` samples stored ``stride`` bytes apart from ``offset`` in a file, each C-contiguous.

    Looks like the array it reads (``shape``, ``ndim``, ``size``, ``len``, slicing
    of whole samples); ``dtype`` is the model dtype it yields, ``source_dtype``
    the stored one; ``flat``: the array was 1-D (its samples are of one value).
    """

    def __init__(self, file: _File, offset: int, stride: int, shape: tuple, source, dtype,
                 flat: bool = False):
        self._file, self.offset, self.stride, self.flat = file, offset, stride, flat
        self.shape, self.source_dtype, self.dtype = tuple(shape), np.dtype(source), np.dtype(dtype)
        self.row_bytes = math.prod(self.shape[1:]) * self.source_dtype.itemsize
        self._same = self.source_dtype == self.dtype
        self._scratch = np.empty(0, np.uint8)

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: math.prod(self.shape))

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return (f"Rows({self._file.path!r}, shape={self.shape}, {self.source_dtype} -> "
                f"{self.dtype})")

    def __getitem__(self, key):
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError(f"Rows take a slice of whole samples. Received: {key!r}")
        start, stop, _ = key.indices(self.shape[0])
        stop = max(start, stop)
        return Rows(self._file, self.offset + start * self.stride, self.stride,
                    (stop - start,) + self.shape[1:], self.source_dtype, self.dtype, self.flat)

    # ------------------------------------------------------------------ reading
    def read(self, start: int, stop: int, out: np.ndarray) -> np.ndarray:
        """Samples ``start .. stop-1`` into ``out[:stop-start]`` (model dtype); returns that view."""
        rows = stop - start
        raw, bytes_ = self._target(out, rows)
        if self.stride == self.row_bytes:
            self._pread(bytes_, self.offset + start * self.stride, start)
        else:
            self._rows(bytes_, range(self.offset + start * self.stride,
                                     self.offset + stop * self.stride, self.stride), start)
        return self._cast(raw, out, rows)

    def take(self, index: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Samples ``index`` (int64, in range) into ``out[:len(index)]``; returns that view."""
        rows = index.shape[0]
        raw, bytes_ = self._target(out, rows)
        self._rows(bytes_, (index * self.stride + self.offset).tolist(), 0)
        return self._cast(raw, out, rows)

    def _target(self, out: np.ndarray, rows: int) -> tuple:
        """The array the bytes land in (``out`` itself when no cast is needed) and its bytes."""
        if self._same:
            raw = out[:rows]
            return raw, memoryview(raw.reshape(-1).view(np.uint8))
        need = rows * self.row_bytes
        if self._scratch.size < need:
            self._scratch = np.empty(need, np.uint8)
        raw = self._scratch[:need].view(self.source_dtype).reshape((rows,) + self.shape[1:])
        return raw, memoryview(self._scratch[:need])

    def _cast(self, raw: np.ndarray, out: np.ndarray, rows: int) -> np.ndarray:
        if not self._same:
            with np.errstate(over="ignore", invalid="ignore"):
                np.copyto(out[:rows], raw, casting="unsafe")
        return out[:rows]

    def _rows(self, bytes_: memoryview, offsets, first: int) -> None:
        """One ``pread`` per sample: ``bytes_`` holds the samples at ``offsets`` in order."""
        size, fd, pread = self.row_bytes, self._file.fd, os.preadv
        for i, offset in enumerate(offsets):
            view = bytes_[i * size:(i + 1) * size]
            if pread(fd, [view], offset) != size:
                self._pread(view, offset, first + i)

    def _pread(self, view: memoryview, offset: int, sample: int) -> None:
        """Fill ``view`` from ``offset``, looping over short reads; the file must hold it all."""
        done = 0
        while done < len(view):
            got = os.preadv(self._file.fd, [view[done:]], offset + done)
            if got <= 0:
                raise OSError(f"{self._file.path} ends before the array it held (sample "
                              f"{sample + done // max(self.row_bytes, 1)}): was it truncated?")
            done += got

    def chunks(self):
        """(start, block) over all samples, ``CHUNK_BYTES`` at a time, cast to the model dtype."""
        n = self.shape[0]
        per = max(1, CHUNK_BYTES // max(1, self.row_bytes))
        buf = np.empty((min(per, n),) + self.shape[1:], self.dtype)
        for start in range(0, n, per):
            yield start, self.read(start, min(n, start + per), buf)


# ---------------------------------------------------------------- finding the file
def _root_memmap(array: np.ndarray):
    """The ``np.memmap`` that owns ``array``'s file mapping, or None."""
    node = array
    while node is not None:
        if isinstance(node, np.memmap) and isinstance(node.base, mmap.mmap):
            return node
        node = getattr(node, "base", None)
    return None


def open_rows(array, dtype) -> Rows | None:
    """``array`` as :class:`Rows` yielding ``dtype`` when its file can be read (else None).

    That is: a non-empty array within a shared ``np.memmap`` that has a file
    name (not mode ``"c"``, whose private writes the file does not see), with
    every sample C-contiguous. A 1-D array gives samples of one value.
    """
    if not isinstance(array, np.ndarray) or array.ndim == 0 or array.size == 0 \
            or array.base is None or not hasattr(os, "preadv"):  # preadv: POSIX only
        return None
    root = _root_memmap(array)
    if root is None or root.filename is None or root.mode == "c":
        return None
    if array.ndim > 1 and not array[0].flags.c_contiguous:
        return None
    offset = (array.__array_interface__["data"][0] - root.__array_interface__["data"][0]
              + root.offset)
    try:
        file = _File(root.filename)
    except OSError:
        return None
    shape = array.shape if array.ndim > 1 else array.shape + (1,)
    return Rows(file, offset, array.strides[0], shape, array.dtype, dtype, array.ndim == 1)


def load(array):
    """A file-backed array read whole through its file into memory (others unchanged).

    For targets and weights, which are small next to ``x``: reading them through
    the mapping would leave the whole file's pages in this process.
    """
    rows = open_rows(array, getattr(array, "dtype", None))
    if rows is None:
        return array
    out = np.empty(rows.shape, rows.dtype)
    rows.read(0, rows.shape[0], out)
    return out.reshape(array.shape)
