#!/usr/bin/env bash
# Run the test suite against an AddressSanitizer + UndefinedBehaviorSanitizer
# build of the C core, made in a throwaway copy of this checkout so the normal
# build and install are left alone. Any sanitizer report fails the run
# (UBSan is built with -fno-sanitize-recover; ASan aborts on its first error).
# Usage: tools/sanitized_tests.sh [pytest arguments]   (default: the whole suite)
set -euo pipefail
python="${PYTHON:-python3}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -a "$root/." "$work/"
rm -rf "$work/build" "$work/.git"
rm -f "$work"/pymodel/_C*.so "$work/csrc/_dev_stubs.c"
cd "$work"
PYMODEL_SANITIZE=1 "$python" setup.py -q build_ext --inplace >/dev/null
# Python itself is not instrumented: the ASan runtime must be loaded first, and
# libstdc++ with it so C++ extensions (matplotlib) can throw under ASan.
export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so)"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export PYMODEL_SANITIZE=1 PYTHONPATH="$work"
"$python" -m pytest -q -p no:cacheprovider "${@:-tests}"
