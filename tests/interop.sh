#!/usr/bin/env bash
# Interoperability: stores written by the library open in h5ls, h5dump and h5py (Debian's
# python3-h5py under /usr/bin/python3), with values and attributes checked.
# Usage: interop.sh WRITER_BINARY CHECK_SCRIPT. Exit 77 (skip) only when h5py is missing.
set -euo pipefail
writer=$1 check=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$writer" "$dir"
# lz4 and zstd files need HDF5's filter plugins to be decoded (h5dump of data included): the
# check script skips each file whose plugin HDF5 cannot load, with a message.
for f in "$dir"/*.h5; do
    h5ls -r "$f" >/dev/null
    h5dump -H "$f" >/dev/null
    echo "h5ls -r and h5dump -H read $(basename "$f")"
done
h5dump -d /tensors/g2/data -s "0,0" -c "2,2" "$dir"/compressed.h5 >/dev/null
if ! /usr/bin/python3 -c "import h5py, numpy" 2>/dev/null; then
    echo "SKIPPED: /usr/bin/python3 has no h5py/numpy (install python3-h5py)"
    exit 77
fi
/usr/bin/python3 "$check" "$dir"/*.h5
