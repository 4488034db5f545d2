"""Find pymodel's compiled core (``pymodel._C``) for the package being imported.

``python -m pymodel`` run from a source checkout imports the checkout's
``pymodel/`` (the working folder comes first on sys.path), which holds no
compiled extension unless it was built in place. Rather than fail, the
checkout then borrows the extension of the pymodel that ``pip install .``
put on sys.path, so the README's ``pip install . && python -m pymodel run
examples/xor.json`` works from the repository root.
"""
from __future__ import annotations

import importlib.machinery
import os
import pathlib
import sys

#: OpenMP threads that busy-wait between parallel regions take the very cores
#: they wait for as soon as anything else runs on the machine: 2-thread
#: training measured 20-50x slower than with sleeping waits on a busy 2-core
#: machine. GNU OpenMP reads the policy once, when it loads with the core, so
#: it is set before the first import of ``pymodel._C``; a policy the user set wins.
WAIT_POLICY = "passive"


def ensure_core(package) -> None:
    """Make ``pymodel._C`` importable, extending ``package.__path__`` if needed."""
    os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)
    try:
        import pymodel._C  # noqa: F401
        return
    except ModuleNotFoundError:
        pass
    here = pathlib.Path(package.__file__).resolve().parent
    for entry in sys.path:
        candidate = pathlib.Path(entry or ".").resolve() / "pymodel"
        if candidate == here or not candidate.is_dir():
            continue
        if importlib.machinery.PathFinder.find_spec("_C", [str(candidate)]) is not None:
            package.__path__.append(str(candidate))
            return
    raise ImportError(
        "pymodel's C core is not built: install it with `pip install .` "
        "(or build it in place with `python setup.py build_ext --inplace`)")
