"""Run ``python -m pymodel`` in a child process that imports this same build of pymodel.

The child runs in ``cwd`` (never the repository root, whose source tree has no
compiled extension) with PYTHONPATH pointing at the package the tests import:
the installed one in CI, the in-place build in a development checkout.
"""
import os
import pathlib
import subprocess
import sys

import pymodel


def pymodel_env() -> dict:
    env = dict(os.environ)
    root = str(pathlib.Path(pymodel.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([root] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


def run_pymodel(*args, cwd, timeout=300) -> subprocess.CompletedProcess:
    """``python -m pymodel ARGS`` in ``cwd``, capturing text output."""
    return subprocess.run([sys.executable, "-m", "pymodel", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, env=pymodel_env(), timeout=timeout)
