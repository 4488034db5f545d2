"""Write csrc/_dev_stubs.c: weak definitions of every C API function.

For development branches that build before every kernel exists: a stub
returns PM_EUNSUPPORTED and is replaced by the real (strong) definition at
link time. The file is git-ignored and never part of a release.
"""
import pathlib
import re
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "pymodel"))
from _build_ffi import CSRC, read_cdef  # noqa: E402

PROTO = re.compile(r"^([A-Za-z_][\w \*]*?)\b(pm_\w+)\s*\(([^;]*?)\)\s*;", re.M | re.S)


def main() -> None:
    cdef = re.sub(r"/\*.*?\*/", "", read_cdef(), flags=re.S)
    out = ['#include "pm_internal.h"', "#pragma GCC diagnostic ignored \"-Wunused-parameter\""]
    for ret, name, params in PROTO.findall(cdef):
        ret = ret.strip()
        value = '"stub"' if "char" in ret else "PM_EUNSUPPORTED"
        out.append(f"__attribute__((weak)) {ret} {name}({params}) {{ return {value}; }}")
    (CSRC / "_dev_stubs.c").write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
