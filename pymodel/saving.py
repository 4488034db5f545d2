"""Save and load whole models (one zip file) and weights (.npz).

A model file is a zip archive holding:
  ``config.json``    format version, the model config (Keras ``to_json`` envelope), the compile config,
                     the model's shuffling RNG state and each Dropout layer's mask RNG state;
  ``weights.npz``    the weights in ``get_weights()`` order, keys ``000000``, ``000001``, ...;
  ``optimizer.npz``  the optimizer state (slots and ``iterations``), so training resumes exactly.
Files are written atomically (temp file in the same folder, fsync, ``os.replace``) and read with
``allow_pickle=False``; anything that is not such a file raises ``ModelFileError`` naming the file.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import pathlib
import tempfile
import zipfile
import zlib
from typing import Callable

import numpy as np

__all__ = ["MODEL_FORMAT", "ModelFileError", "save_model", "load_model", "save_weights", "load_weights",
           "atomic_write"]

MODEL_FORMAT = "pymodel.model/1"
_CONFIG, _WEIGHTS, _OPTIMIZER = "config.json", "weights.npz", "optimizer.npz"


class ModelFileError(ValueError):
    """A model or weights file is missing, corrupt, truncated, foreign, or does not fit the model."""

    def __init__(self, path, problem: str):
        self.path, self.problem = os.fspath(path), problem
        super().__init__(f"{self.path}: {problem}")


def atomic_write(path, write: Callable[[io.BufferedWriter], None]) -> None:
    """Write ``path`` through ``write(file)`` so readers see the old file or the whole new one, never a part."""
    path = pathlib.Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _read_npz(data, path, member: str) -> dict[str, np.ndarray]:
    try:
        loaded = np.load(io.BytesIO(data) if isinstance(data, bytes) else data, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError("a single array, not an archive")
        with loaded:
            return {k: loaded[k] for k in loaded.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, zlib.error) as e:
        raise ModelFileError(path, f"{member} is corrupt or not a NumPy .npz archive ({e})") from None


def _indexed(arrays: list[np.ndarray]) -> dict[str, np.ndarray]:
    return {f"{i:06d}": np.asarray(a) for i, a in enumerate(arrays)}


def _rng_of(model):
    rng = getattr(model, "_rng", None) or getattr(model, "rng", None)
    return rng if isinstance(rng, np.random.Generator) else None


def _check_overwrite(path, overwrite: bool) -> None:
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{os.fspath(path)} already exists (pass overwrite=True to replace it)")


def _layer_rngs(model):
    """(index, C random state) of layers that draw random numbers (Dropout), so resumed masks match."""
    for i, layer in enumerate(model.layers):
        make_state = getattr(layer, "_random_state", None)
        if make_state is not None:
            yield i, make_state()


def save_model(model, path, *, overwrite: bool = True) -> None:
    """Write ``model`` (config, weights, compile config, optimizer state) to one zip file at ``path``."""
    _check_overwrite(path, overwrite)
    compiled = getattr(model, "optimizer", None) is not None
    config = {
        "format": MODEL_FORMAT,
        "model_config": json.loads(model.to_json()),
        "compile_config": model.get_compile_config() if compiled else None,
    }
    rng = _rng_of(model)
    if rng is not None:
        config["rng_state"] = rng.bit_generator.state
    layer_states = {str(i): list(s.state) for i, s in _layer_rngs(model)}
    if layer_states:
        config["layer_rng_states"] = layer_states
    members = {_CONFIG: json.dumps(config, indent=1).encode(), _WEIGHTS: _npz_bytes(_indexed(model.get_weights()))}
    if compiled:
        members[_OPTIMIZER] = _npz_bytes({k: np.asarray(v) for k, v in model.optimizer.get_state().items()})

    def write(f):
        with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in members.items():
                z.writestr(name, data)

    atomic_write(path, write)


def _open_model_file(path) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if _CONFIG not in names or _WEIGHTS not in names:
                raise ModelFileError(path, f"not a pymodel model file (the archive has no {_CONFIG} / {_WEIGHTS})")
            wanted = [n for n in (_CONFIG, _WEIGHTS, _OPTIMIZER) if n in names]
            _check_sizes(path, [z.getinfo(n) for n in wanted])
            return {n: z.read(n) for n in wanted}
    except FileNotFoundError:
        raise ModelFileError(path, "no such file") from None
    except IsADirectoryError:
        raise ModelFileError(path, "is a folder, not a model file") from None
    except (zipfile.BadZipFile, EOFError, zlib.error) as e:
        raise ModelFileError(path, f"not a pymodel model file, or it is corrupt or truncated ({e})") from None


def _check_sizes(path, infos: list) -> None:
    """Refuse members whose declared size exceeds memory (a zip bomb) before inflating them.

    zipfile never inflates a member past its declared ``file_size``, so checking
    that number is enough.
    """
    from pymodel.validation import memory_limit
    total = sum(info.file_size for info in infos)
    if total > memory_limit() // 2:
        raise ModelFileError(path, f"its members would inflate to {total:,} bytes, more than this "
                                   "machine can hold; the file is corrupt or not a pymodel model file")


def load_model(path, custom_objects: dict | None = None, compile: bool = True, **kwargs):
    """Rebuild the model saved at ``path``, with its weights and, if ``compile``, its optimizer state.

    The signature is Keras's ``models.load_model``; ``custom_objects`` goes to ``model_from_json``.

    Raises:
        ModelFileError: the file is missing, corrupt, truncated, or not a pymodel model file.
    """
    members = _open_model_file(path)
    try:
        config = json.loads(members[_CONFIG])
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFileError(path, f"{_CONFIG} is not valid JSON ({e})") from None
    if not isinstance(config, dict) or config.get("format") != MODEL_FORMAT:
        found = config.get("format") if isinstance(config, dict) else None
        raise ModelFileError(path, f"unsupported model file format {found!r}; expected {MODEL_FORMAT!r}")
    from pymodel.models import model_from_json

    try:
        model = model_from_json(json.dumps(config["model_config"]), custom_objects)
    except (KeyError, ValueError, TypeError) as e:
        raise ModelFileError(path, f"the saved model config cannot be rebuilt ({e})") from None
    _assign(model, _ordered(_read_npz(members[_WEIGHTS], path, _WEIGHTS)), path)
    if compile and config.get("compile_config"):
        try:
            model.compile_from_config(config["compile_config"])
            if _OPTIMIZER in members:
                state = _read_npz(members[_OPTIMIZER], path, _OPTIMIZER)
                model.optimizer.set_state(state)
                if any("/" in key for key in state):  # slots saved: build now, as the first
                    # fit would, so a state that does not fit the model fails here
                    model.optimizer.build([w.view(np.ndarray) for w in model.trainable_weights])
        except (KeyError, ValueError, TypeError) as e:
            raise ModelFileError(path, f"the saved compile config or optimizer state is invalid "
                                       f"({e!r})") from None
    try:
        rng = _rng_of(model)
        if rng is not None and config.get("rng_state"):
            rng.bit_generator.state = config["rng_state"]
        saved = config.get("layer_rng_states", {})
        for i, state in _layer_rngs(model):
            if str(i) in saved:
                state.state = saved[str(i)]
    except (KeyError, ValueError, TypeError, AttributeError, OverflowError) as e:
        raise ModelFileError(path, f"its random states are invalid ({e!r})") from None
    return model


def _ordered(arrays: dict[str, np.ndarray]) -> list[np.ndarray]:
    return [arrays[k] for k in sorted(arrays)]


def _assign(model, weights: list[np.ndarray], path) -> None:
    expected = [w.shape for w in model.get_weights()]
    if len(weights) != len(expected):
        raise ModelFileError(path, f"holds {len(weights)} weight arrays but the model has {len(expected)}")
    for i, (w, shape) in enumerate(zip(weights, expected)):
        if w.shape != shape:
            raise ModelFileError(path, f"weight {i} has shape {w.shape} but the model expects {shape}")
    try:
        model.set_weights(weights)
    except (ValueError, TypeError) as e:
        raise ModelFileError(path, f"its weights cannot be used ({e})") from None


def save_weights(model, path, *, overwrite: bool = True) -> None:
    """Write ``model.get_weights()`` to an .npz file at ``path`` (atomically)."""
    _check_overwrite(path, overwrite)
    data = _npz_bytes(_indexed(model.get_weights()))
    atomic_write(path, lambda f: f.write(data))


def load_weights(model, path) -> None:
    """Set ``model``'s weights from an .npz written by ``save_weights``; count and shapes must match."""
    try:
        with open(path, "rb") as f:
            arrays = _read_npz(f, path, "the weights file")
    except FileNotFoundError:
        raise ModelFileError(path, "no such file") from None
    _assign(model, _ordered(arrays), path)
