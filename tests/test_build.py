"""The extension is built and exposes the whole C API declared in csrc/pymodel.h."""
import pathlib
import re

from pymodel._native import ffi, lib

HEADER = pathlib.Path(__file__).resolve().parent.parent / "csrc" / "pymodel.h"


def declared_functions():
    text = HEADER.read_text()
    cdef = re.search(r"/\* PM_CDEF_BEGIN \*/(.*)/\* PM_CDEF_END \*/", text, re.S).group(1)
    cdef = re.sub(r"/\*.*?\*/", "", cdef, flags=re.S)
    return re.findall(r"\b(pm_\w+)\s*\(", cdef)


def test_status_codes_match_the_header():
    assert (lib.PM_OK, lib.PM_EINVAL, lib.PM_ENOMEM, lib.PM_EUNSUPPORTED) == (0, 1, 2, 3)
    assert ffi.string(lib.pm_strerror(lib.PM_EINVAL)) == b"invalid argument"
    assert ffi.string(lib.pm_strerror(12345)) == b"unknown status"


def test_every_declared_function_resolves():
    names = declared_functions()
    assert len(names) > 40
    for name in names:
        assert callable(getattr(lib, name)), name
