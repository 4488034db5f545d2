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

#: How idle OpenMP threads wait: a short spin (GNU OpenMP's 300 rounds, ~6 us
#: here), then sleep. Threads that spin for long take the very cores they wait
#: for as soon as anything else runs on the machine (GNU OpenMP's own default,
#: ~8 ms of spinning after every parallel region, made 2-thread training 20-50x
#: slower on a busy 2-core machine); threads that sleep at once pay a wakeup of
#: tens of microseconds for every region, even when the regions come back to
#: back (batch-32 training on 2 threads ~20% slower, small products up to 2x).
#: GNU OpenMP reads these once, when it loads with the core, so they are set
#: before the first import of ``pymodel._C``; if the user set either, both are
#: left as they are.
OPENMP_WAIT = {"OMP_WAIT_POLICY": "passive", "GOMP_SPINCOUNT": "300"}


def ensure_core(package) -> None:
    """Make ``pymodel._C`` importable, extending ``package.__path__`` if needed."""
    if not any(name in os.environ for name in OPENMP_WAIT):
        os.environ.update(OPENMP_WAIT)
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
