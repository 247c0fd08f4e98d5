#!/usr/bin/env bash
# The demo: installs missing Debian packages, builds infinite-tensor and runs the blur example
# (a random image of unbounded size, blurred twice through padded windows).
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/lib/deps.sh

ensure_packages cmake make gcc libc6-dev pkg-config libhdf5-dev
echo "==> building"
cmake -S . -B build-demo -DIT_BUILD_TESTS=OFF -DIT_BUILD_BENCH=OFF >/dev/null
cmake --build build-demo -j"$(jobs)" --target blur stream -- --no-print-directory >/dev/null
echo "==> running examples/blur"
./build-demo/examples/blur
echo
echo "==> running examples/stream"
./build-demo/examples/stream
