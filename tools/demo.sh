#!/usr/bin/env bash
# The demo: installs missing Debian packages, builds infinite-tensor and runs the blur example
# (a random image of unbounded size, blurred twice through padded windows) into an HDF5 store,
# twice: the second run is served from the store.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/lib/deps.sh

ensure_packages cmake make gcc libc6-dev pkg-config libhdf5-dev
echo "==> building"
cmake -S . -B build-demo -DIT_BUILD_TESTS=OFF -DIT_BUILD_BENCH=OFF >/dev/null
cmake --build build-demo -j"$(jobs)" --target blur stream -- --no-print-directory >/dev/null
mkdir -p demo-out
rm -f demo-out/blur.h5
echo "==> examples/blur, first run (computes the windows, stores the tiles)"
./build-demo/examples/blur demo-out/blur.h5
echo
echo "==> examples/blur, second run (served from demo-out/blur.h5)"
./build-demo/examples/blur demo-out/blur.h5
echo
echo "==> examples/stream"
./build-demo/examples/stream
