#!/usr/bin/env bash
# Builds infinite-tensor and runs the whole ctest suite, installing missing Debian packages
# first. Options: --sanitize     build in build-asan with AddressSanitizer + UBSan
#                 --tsan         build in build-tsan with ThreadSanitizer
#                 --fuzz SECONDS build the libFuzzer targets with clang in build-fuzz and run each
#                                for SECONDS from the committed corpus (label "fuzz")
#                 --clang        build in build-clang with clang and clang++ (gcc otherwise)
#                 --stress       also run the long stress tests (ctest label "stress")
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/lib/deps.sh

build=build
stress=OFF
fuzz=""
flags=(-DIT_WERROR=ON)
packages=(cmake make gcc g++ libc6-dev pkg-config libhdf5-dev libpng-dev libdeflate-dev liblz4-dev libblosc-dev
    libcmocka-dev hdf5-tools hdf5-filter-plugin hdf5-filter-plugin-blosc-serial netcdf-bin
    libopenmpi-dev openmpi-bin
    python3-h5py python3-numpy python3-xarray python3-dask python3-netcdf4 python3-cffi python3-pytest
    python3-venv python3-silx python3-h5netcdf h5utils help2man man-db doxygen)
while [ $# -gt 0 ]; do
    case "$1" in
    --sanitize) build=build-asan; flags+=(-DIT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug) ;;
    --tsan) build=build-tsan; flags+=(-DIT_TSAN=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
    --fuzz)
        [ $# -ge 2 ] || { echo "usage: --fuzz SECONDS" >&2; exit 2; }
        fuzz=$2; shift
        build=build-fuzz
        packages+=(clang libclang-rt-dev) # the runtime of the suite's clang (14, 19, 21, ...)
        flags+=(-DCMAKE_C_COMPILER=clang -DIT_FUZZ=ON -DIT_FUZZ_SECONDS="$fuzz" -DIT_BUILD_TESTS=OFF
            -DIT_BUILD_EXAMPLES=OFF -DIT_BUILD_TOOLS=OFF -DIT_BUILD_BENCH=OFF
            -DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
    --clang)
        build=build-clang
        packages+=(clang)
        flags+=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++) ;;
    --stress) stress=ON ;;
    *) echo "usage: tools/test.sh [--sanitize | --tsan | --fuzz SECONDS | --clang] [--stress]" >&2; exit 2 ;;
    esac
    shift
done

flags+=(-DIT_STRESS_TESTS=$stress) # explicit: the build directory's cache must not decide

ensure_packages "${packages[@]}"

echo "==> configuring ($build)"
cmake -S . -B "$build" "${flags[@]}" >/dev/null
echo "==> building"
cmake --build "$build" -j"$(jobs)" -- --no-print-directory >/dev/null
echo "==> testing"
cd "$build"
ctest --output-on-failure --verbose -j"$(jobs)"
