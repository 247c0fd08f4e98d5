#!/usr/bin/env bash
# Interoperability: stores written by the library open in h5ls, h5dump and h5py (Debian's
# python3-h5py under /usr/bin/python3), with values and attributes checked.
# Usage: interop.sh WRITER_BINARY CHECK_SCRIPT. Exit 77 (skip) only when h5py is missing.
set -euo pipefail
writer=$1 check=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$writer" "$dir"
for f in "$dir"/compressed.h5 "$dir"/raw.h5; do
    h5ls -r "$f" >/dev/null
    h5dump -H "$f" >/dev/null
    h5dump -d /tensors/g2/data -s "0,0" -c "2,2" "$f" >/dev/null
    echo "h5ls -r and h5dump -H read $(basename "$f")"
done
if ! /usr/bin/python3 -c "import h5py, numpy" 2>/dev/null; then
    echo "SKIPPED: /usr/bin/python3 has no h5py/numpy (install python3-h5py)"
    exit 77
fi
/usr/bin/python3 "$check" "$dir"/compressed.h5 "$dir"/raw.h5
