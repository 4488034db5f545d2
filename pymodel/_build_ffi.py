"""cffi builder (out-of-line API mode) for pymodel._C from csrc/.

The cdef is the text between the CDEF markers of csrc/pymodel.h, so the C
declarations live in exactly one place.
"""
import os
import pathlib
import re
import shlex
import subprocess
import sysconfig
import tempfile

from cffi import FFI

ROOT = pathlib.Path(__file__).resolve().parent.parent
CSRC = ROOT / "csrc"


def read_cdef(header: pathlib.Path = CSRC / "pymodel.h") -> str:
    """Return the declarations between /* PM_CDEF_BEGIN */ and /* PM_CDEF_END */."""
    text = header.read_text()
    match = re.search(r"/\* PM_CDEF_BEGIN \*/(.*)/\* PM_CDEF_END \*/", text, re.S)
    if match is None:
        raise RuntimeError(f"{header}: CDEF markers not found")
    return match.group(1)


def compile_args() -> list:
    """Portable optimisation flags; never -march=native (kernels pick SIMD at run time)."""
    args = ["-std=gnu11", "-O3", "-fno-strict-aliasing", "-Wall", "-Wextra"]
    if os.environ.get("PYMODEL_SANITIZE"):
        args += ["-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined",
                 "-fno-sanitize-recover=undefined"]
    return args


def link_args() -> list:
    if os.environ.get("PYMODEL_SANITIZE"):
        return ["-fsanitize=address,undefined"]
    return []


def openmp_flags() -> list:
    """["-fopenmp"] when the C compiler builds and links an OpenMP program, else [].

    Without OpenMP the kernels run single-threaded (same results).
    PYMODEL_OPENMP=0 forces the fallback.
    """
    if os.environ.get("PYMODEL_OPENMP") == "0":
        return []
    cc = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    with tempfile.TemporaryDirectory() as tmp:
        src = pathlib.Path(tmp, "omp.c")
        src.write_text("#include <omp.h>\nint main(void) { return omp_get_max_threads() < 1; }\n")
        try:
            ok = subprocess.run(cc + ["-fopenmp", str(src), "-o", str(src.with_suffix(""))],
                                capture_output=True, check=False).returncode == 0
        except OSError:
            ok = False
    return ["-fopenmp"] if ok else []


OPENMP = openmp_flags()


ffibuilder = FFI()
ffibuilder.cdef(read_cdef())
ffibuilder.set_source(
    "pymodel._C",
    '#include "pymodel.h"',
    sources=[str(p.relative_to(ROOT)) for p in sorted(CSRC.glob("*.c"))],
    # The dtype templates and headers are #included: a change to them must rebuild too.
    depends=[str(p.relative_to(ROOT)) for p in sorted(CSRC.glob("*.[hi]*"))],
    include_dirs=[str(CSRC.relative_to(ROOT))],
    extra_compile_args=compile_args() + OPENMP,
    extra_link_args=link_args() + OPENMP,
    libraries=["m"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
