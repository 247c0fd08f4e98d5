#!/usr/bin/env bash
# `pip install ./python` in a fresh venv, offline (no package index): the package's own build
# backend builds the library with CMake and the wheel carries it; the installed package then
# finds it without INFINITE_TENSOR_LIBRARY, from any directory. Then `cmake --install` with a
# second venv as the prefix and its Python as IT_PYTHON: the package lands where that Python
# looks, importable without PYTHONPATH. Exit 77 (skip) when
# /usr/bin/python3 has no venv or numpy/cffi (tools/test.sh installs python3-venv).
# Usage: pip_install.sh SOURCE_DIR WORK_DIR
set -euo pipefail
src=$1 work=$2
if ! /usr/bin/python3 -c "import venv, ensurepip, numpy, cffi" 2>/dev/null; then
    echo "SKIPPED: /usr/bin/python3 lacks venv/ensurepip, numpy or cffi (python3-venv)"
    exit 77
fi
rm -rf "$work"
mkdir -p "$work"
# Debian's numpy and cffi come from the system; nothing comes from an index
/usr/bin/python3 -m venv --system-site-packages "$work/venv"
PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 "$work/venv/bin/pip" install "$src/python" \
    >"$work/pip.log" 2>&1 || { cat "$work/pip.log"; exit 1; }
cd "$work"
env -u INFINITE_TENSOR_LIBRARY "$work/venv/bin/python" - "$work/venv" <<'PY'
import sys

import numpy as np

import infinite_tensor as it

venv = sys.argv[1]
assert it.__file__.startswith(venv), it.__file__
loaded = [l.split()[-1] for l in open("/proc/self/maps") if "libinfinite_tensor" in l]
assert loaded and loaded[0].startswith(venv), loaded
t = it.InfiniteTensor((None, None), lambda c: np.full((8, 8), c[0] + c[1], np.float32),
                      it.TensorWindow((8, 8)))
assert t[8, 16] == 3
with it.HDF5TileStore("s.h5") as s:
    h = it.InfiniteTensor((None, None), lambda c: np.ones((8, 8), np.float32),
                          it.TensorWindow((8, 8)), tile_store=s, tensor_id="ones")
    assert h[0:16, 0:16].sum() == 256
assert "deflate" in it.codecs()
print(f"ok: installed in {venv}, library {loaded[0]}, version {it.__version__}")
PY
/usr/bin/python3 -m venv --system-site-packages "$work/prefix"
cmake -S "$src" -B "$work/build" -DCMAKE_INSTALL_PREFIX="$work/prefix" \
    -DIT_PYTHON="$work/prefix/bin/python" -DIT_BUILD_TESTS=OFF -DIT_BUILD_TOOLS=OFF \
    -DIT_BUILD_BENCH=OFF -DIT_BUILD_EXAMPLES=OFF -DIT_WITH_MPI=OFF >"$work/cmake.log"
cmake --build "$work/build" -j"$(nproc)" >>"$work/cmake.log"
cmake --install "$work/build" >>"$work/cmake.log"
env -u INFINITE_TENSOR_LIBRARY -u PYTHONPATH "$work/prefix/bin/python" -c '
import sys, infinite_tensor as it
assert it.__file__.startswith(sys.prefix), it.__file__
print("ok: cmake --install put the package where", sys.executable, "finds it:", it.__file__)'
