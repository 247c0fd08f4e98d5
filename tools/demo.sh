#!/usr/bin/env bash
# The demo: installs missing Debian packages, builds infinite-tensor and its itensor tool, and
# builds a procedural terrain of unbounded size (fractal noise -> smoothing -> shaded relief)
# into demo-out/: the HDF5 tile store, an export of a region with pixel coordinates, and a PNG
# preview. It runs twice: the second run is served from the store.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/lib/deps.sh

ensure_packages cmake make gcc libc6-dev pkg-config libhdf5-dev libpng-dev libdeflate-dev liblz4-dev \
    libblosc-dev
echo "==> building"
cmake -S . -B build-demo -DIT_BUILD_TESTS=OFF -DIT_BUILD_BENCH=OFF >/dev/null
cmake --build build-demo -j"$(jobs)" --target itensor blur -- --no-print-directory >/dev/null
it=./build-demo/tools/itensor
echo
echo "==> itensor demo demo-out (first run: computes and stores)"
$it demo demo-out
echo
echo "==> itensor demo demo-out (second run: served from demo-out/store.h5)"
$it demo demo-out
echo
echo "==> itensor ls demo-out/store.h5"
$it ls demo-out/store.h5
echo
echo "==> itensor verify demo-out/store.h5"
$it verify demo-out/store.h5
if command -v ncdump >/dev/null; then
    echo
    echo "==> ncdump -h demo-out/export.h5"
    ncdump -h demo-out/export.h5 | sed -n '1,24p' # sed reads it all: no SIGPIPE under pipefail
fi
echo
echo "==> examples/blur (the original library's blur example, HDF5 store demo-out/blur.h5)"
./build-demo/examples/blur demo-out/blur.h5 | tail -3
