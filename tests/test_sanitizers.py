"""The AddressSanitizer/UndefinedBehaviorSanitizer build is what its name says, and only when asked.

CI runs the whole suite a second time against a build made with
``PYMODEL_SANITIZE=1`` (see ``tools/sanitized_tests.sh``). These tests make
sure that step really checks memory: under it the extension links the
sanitizers and an out-of-bounds write is reported; in the normal build it
links neither.
"""
import os
import pathlib
import subprocess
import sys
import textwrap

from pymodel_process import pymodel_env

SANITIZED = bool(os.environ.get("PYMODEL_SANITIZE"))

# Deliberately bypasses the bindings' checks (which refuse this call) to prove the sanitizer sees it.
OVERFLOW = textwrap.dedent("""
    import numpy as np
    from pymodel._C import ffi, lib
    x = np.ones(4, dtype=np.float64)
    lib.pm_scale_f64(64, ffi.from_buffer("double *", x), 2.0)
""")


def _mapped_libraries() -> str:
    import pymodel._C  # noqa: F401
    return pathlib.Path("/proc/self/maps").read_text()


def test_the_extension_links_the_sanitizers_exactly_when_pymodel_sanitize_is_set():
    assert ("libubsan" in _mapped_libraries()) == SANITIZED


def test_an_out_of_bounds_write_is_caught_by_the_sanitizer_build_and_refused_by_the_bindings():
    from pymodel._native import optimizers
    import numpy as np
    import pytest
    with pytest.raises((ValueError, TypeError)):
        optimizers.scale(np.ones(4)[::2], 2.0)  # the bindings never let such a call through
    if SANITIZED:
        result = subprocess.run([sys.executable, "-c", OVERFLOW], capture_output=True, text=True,
                                env=pymodel_env(), timeout=120)
        assert result.returncode != 0
        assert "AddressSanitizer: heap-buffer-overflow" in result.stderr
