#!/usr/bin/env bash
# The API reference Doxygen built from the public headers: every header has its page, the
# headers' comments are there (a function's, a member's), and Doxygen warned of nothing.
# Usage: api_docs.sh API_DIR
set -uo pipefail
dir=$1
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
for h in context error export hdf5 region store tensor types views window; do
    [ -s "$dir/html/${h}_8h.html" ] && ok "$h.h has its page" || bad "no page for $h.h"
done
grep -q "Rewrites the store at path without the space HDF5 leaves behind" "$dir/html/hdf5_8h.html" &&
    ok "a function's comment is its documentation" || bad "it_hdf5_compact's comment is missing"
grep -q "succeed without writing when the dataset already holds this" "$dir/html/export_8h.html" &&
    ok "a member's trailing comment is its documentation" || bad "IT_EXPORT_IF_IDENTICAL's comment is missing"
if [ -s "$dir-warnings.txt" ]; then bad "Doxygen warned: $(head -5 "$dir-warnings.txt")"; else ok "no Doxygen warnings"; fi
echo "$fails failure(s)"
[ "$fails" = 0 ]
