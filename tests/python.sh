#!/usr/bin/env bash
# The Python package's tests (python/tests) with pytest under Debian's /usr/bin/python3,
# against the shared library of this build. Exit 77 (skip) only when cffi, numpy or pytest is
# missing (tools/test.sh installs python3-cffi, python3-numpy and python3-pytest).
# Usage: python.sh LIBRARY GENERATED_INCLUDE_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
if ! /usr/bin/python3 -c "import cffi, numpy, pytest" 2>/dev/null; then
    echo "SKIPPED: /usr/bin/python3 lacks cffi, numpy or pytest (python3-cffi python3-numpy python3-pytest)"
    exit 77
fi
export INFINITE_TENSOR_LIBRARY=$1 INFINITE_TENSOR_GENERATED_INCLUDE=$2
# tools/test.sh installs the viewers python/tests/test_viewers.py opens: missing, they fail here.
export INFINITE_TENSOR_REQUIRE_VIEWERS=1
export PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
cd "$here/python"
# A test still running after 240 s prints every thread's stack before ctest's timeout (300 s)
# kills the run silently.
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider -o faulthandler_timeout=240 tests
