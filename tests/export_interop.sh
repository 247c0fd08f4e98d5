#!/usr/bin/env bash
# Exports open anywhere without extra arguments: ncdump (netCDF-4), h5dump/h5ls, h5py, xarray.
# Usage: export_interop.sh WRITER CHECK_SCRIPT. Exit 77 (skip) only when a tool is missing.
set -euo pipefail
writer=$1 check=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
f="$dir/export.h5"
"$writer" "$f" "$dir/codecs.h5"
h5ls -r "$f" >/dev/null
h5dump -H "$f" >/dev/null
command -v ncdump >/dev/null || { echo "SKIPPED: ncdump missing (install netcdf-bin)"; exit 77; }
header=$(ncdump -h "$f")
echo "$header" | head -20
for var in "int64 y(y)" "int64 x(x)" "float elevation(y, x)"; do
    grep -q "$var" <<<"$header" || { echo "ncdump -h does not list: $var"; exit 1; }
done
for attr in ':Conventions = "CF-1.8"' 'lon:axis = "X"' 'lat:axis = "Y"' 'partial:units = "m"' \
    'partial:_FillValue = NaNf' 'partial_i16:_FillValue = -32768s' 'x:units = "1"'; do
    grep -qF "$attr" <<<"$header" || { echo "ncdump -h does not show: $attr"; exit 1; }
done
ncdump "$f" >/dev/null   # the full data too
/usr/bin/python3 -c "import h5py, numpy, xarray, netCDF4" 2>/dev/null || {
    echo "SKIPPED: /usr/bin/python3 lacks h5py/xarray/netCDF4 (python3-h5py python3-xarray python3-netcdf4)"
    exit 77
}
/usr/bin/python3 "$check" "$f" "$dir/codecs.h5"
