#!/usr/bin/env bash
# Builds infinite-tensor and runs the whole ctest suite, installing missing Debian packages
# first. Options: --sanitize  build in build-asan with AddressSanitizer + UBSan
#                 --stress    also run the long stress tests (ctest label "stress")
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/lib/deps.sh

build=build
stress=OFF
flags=(-DIT_WERROR=ON)
for arg in "$@"; do
    case "$arg" in
    --sanitize) build=build-asan; flags+=(-DIT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug) ;;
    --stress) stress=ON ;;
    *) echo "usage: tools/test.sh [--sanitize] [--stress]" >&2; exit 2 ;;
    esac
done

flags+=(-DIT_STRESS_TESTS=$stress) # explicit: the build directory's cache must not decide

ensure_packages cmake make gcc libc6-dev pkg-config libhdf5-dev libpng-dev libcmocka-dev hdf5-tools \
    netcdf-bin python3-h5py python3-numpy python3-xarray python3-netcdf4

echo "==> configuring ($build)"
cmake -S . -B "$build" "${flags[@]}" >/dev/null
echo "==> building"
cmake --build "$build" -j"$(jobs)" -- --no-print-directory >/dev/null
echo "==> testing"
cd "$build"
ctest --output-on-failure --verbose
