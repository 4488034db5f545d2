"""pymodel: Keras 2's API on a lean C core (``import pymodel as keras``)."""
__version__ = "0.1.0"

import sys as _sys  # noqa: E402

from pymodel._core_loader import ensure_core as _ensure_core  # noqa: E402

_ensure_core(_sys.modules[__name__])

from pymodel import (activations, backend, initializers, layers, losses, metrics, models,  # noqa: E402
                     optimizers, regularizers, utils)
from pymodel._native.gemm import get_num_threads, set_num_threads  # noqa: E402
from pymodel._native.gemm import get_variant as get_gemm_variant  # noqa: E402
from pymodel._native.gemm import set_variant as set_gemm_variant  # noqa: E402
from pymodel.layers import Input  # noqa: E402
from pymodel.models import Sequential, model_from_json  # noqa: E402

try:  # callbacks live in pymodel/callbacks.py
    from pymodel import callbacks  # noqa: E402,F401
except ImportError:  # pragma: no cover - before that module exists
    pass

__all__ = ["activations", "backend", "callbacks", "initializers", "layers", "losses", "metrics",
           "models", "optimizers", "regularizers", "utils", "Sequential", "Input",
           "model_from_json", "set_num_threads", "get_num_threads", "set_gemm_variant",
           "get_gemm_variant", "__version__"]
