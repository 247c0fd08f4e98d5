#!/usr/bin/env bash
# The terrain under MPI: installs what is missing (Open MPI included), builds the MPI example and
# fills a smoothed terrain field across RANKS processes (default 2) into demo-out/mpi-terrain.h5,
# then once more (everything is stored: nothing is computed), and lists the store.
# Usage: tools/demo_mpi.sh [RANKS]
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/lib/deps.sh

ranks=${1:-2}
ensure_packages cmake make gcc libc6-dev pkg-config libhdf5-dev libpng-dev libdeflate-dev liblz4-dev \
    libblosc-dev libopenmpi-dev openmpi-bin
echo "==> building"
cmake -S . -B build-demo -DIT_BUILD_TESTS=OFF -DIT_BUILD_BENCH=OFF -DIT_WITH_MPI=ON >/dev/null
cmake --build build-demo -j"$(jobs)" --target itensor mpi_fill -- --no-print-directory >/dev/null
mkdir -p demo-out
rm -f demo-out/mpi-terrain.h5
# hwloc's OpenCL plugin (with an OpenCL driver such as pocl installed) can abort mpiexec where
# /sys is not mounted (containers, chroots); the fill needs no GPU discovery.
export HWLOC_COMPONENTS=${HWLOC_COMPONENTS:--opencl}
run=(mpiexec -n "$ranks" --oversubscribe)
[ "$(id -u)" -eq 0 ] && run+=(--allow-run-as-root)
echo "==> ${run[*]} mpi_fill demo-out/mpi-terrain.h5 (computes and stores)"
"${run[@]}" ./build-demo/examples/mpi_fill demo-out/mpi-terrain.h5
echo "==> again (served from the store)"
"${run[@]}" ./build-demo/examples/mpi_fill demo-out/mpi-terrain.h5
echo "==> itensor ls demo-out/mpi-terrain.h5"
./build-demo/tools/itensor ls demo-out/mpi-terrain.h5
