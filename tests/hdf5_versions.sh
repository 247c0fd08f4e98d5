#!/usr/bin/env bash
# Files cross HDF5 releases. The stores and exports in tests/data/hdf5/<release>/ (written by
# interop_write and export_write built against HDF5 1.10.8, 1.14.5 and 2.2.0), and the same files
# written now by this build, each: verify with itensor, read and resume (version_resume), verify
# again, open in h5ls/h5dump and in this system's h5py and xarray with every value checked (the
# files this build writes get those reader checks from interop.sh and export_interop.sh). What
# this build writes must keep the format every release reads: superblock version 0, the format
# bounds the library pins (io/hdf5/hdf5_compat.h).
# Usage: hdf5_versions.sh BIN_DIR ITENSOR   (BIN_DIR: interop_write, export_write, version_resume)
# Exit 77 (skip) only when h5py/xarray are missing, after the C checks passed.
set -euo pipefail
bin=$1 itensor=$2
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# The superblock follows the 4096-byte store header in stores (format 3), starts exports.
superblock_version() {
    local at=0
    [ "$(head -c 8 "$1")" = ITSTORE1 ] && at=4096
    od -An -tu1 -j$((at + 8)) -N1 "$1" | tr -d ' '
}

mkdir "$dir/this-build"
"$bin/interop_write" "$dir/this-build" >/dev/null
"$bin/export_write" "$dir/this-build/export.h5" "$dir/this-build/codecs.h5"
releases=("$dir/this-build")
for r in "$here"/data/hdf5/*/; do
    name=$(basename "$r")
    mkdir "$dir/$name"
    cp "$r"/*.h5 "$dir/$name/"
    releases+=("$dir/$name")
done

py=yes
/usr/bin/python3 -c "import h5py, numpy, xarray, netCDF4" 2>/dev/null || py=no
for r in "${releases[@]}"; do
    name=$(basename "$r")
    store=$r/compressed.h5
    "$itensor" verify "$store" >/dev/null
    "$bin/version_resume" "$store" >/dev/null
    "$itensor" verify "$store" >/dev/null
    if [ "$name" = this-build ]; then
        for f in "$r"/*.h5; do # the resumed store included
            v=$(superblock_version "$f")
            [ "$v" = 0 ] || { echo "$f: superblock version $v, not 0 (the pinned format)"; exit 1; }
        done
        echo "$name: verified, read, resumed (38 windows), verified again; superblock version 0"
        continue
    fi
    for f in "$store" "$r/export.h5" "$r/codecs.h5"; do
        h5ls -r "$f" >/dev/null
        h5dump -H "$f" >/dev/null
    done
    echo "$name: verified, read, resumed (38 windows), verified again; h5ls and h5dump -H read it"
    if [ $py = yes ]; then
        /usr/bin/python3 "$here/interop_check.py" "$store" | sed "s|^$dir/||"
        /usr/bin/python3 "$here/export_check.py" "$r/export.h5" "$r/codecs.h5" | sed "s|^|  |"
    fi
done
if [ $py = no ]; then
    echo "SKIPPED the h5py/xarray checks: /usr/bin/python3 lacks h5py/xarray/netCDF4"
    exit 77
fi
