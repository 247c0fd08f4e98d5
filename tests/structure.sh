#!/usr/bin/env bash
# The structure holds: every room (folder) includes only the rooms its rule names, so no arrow
# runs back up; src/ never includes hdf5.h nor anything of io/; no source file is over 650
# lines nor any function over 100; the shared library exports only the public it_* API.
# HACKING.md draws the same map. Usage: structure.sh SOURCE_DIR [LIBRARY.so]
set -euo pipefail
cd "$1"
lib=${2:-}
fail=0
say() { echo "structure: $*"; fail=1; }

# room (a folder, its files only): the project headers it may include, as include paths
# (a trailing / allows a whole room; "src:" the headers at the top of src/). Public headers
# (infinite_tensor/...) are open to all.
rules=(
    "src|src: blend/"
    "src/blend|internal.h sha256.h blend/"
    "io|backend.h file_util.h open_files.h byte_order.h"
    "io/codec|backend.h byte_order.h codec/"
    "io/hdf5/driver|backend.h file_util.h byte_order.h hdf5/driver/ hdf5/hdf5_compat.h hdf5/hdf5_attr.h"
    "io/hdf5|backend.h file_util.h open_files.h byte_order.h codec/ hdf5/"
    "io/export|engine.h file_util.h open_files.h codec/ hdf5/ export/"
    "io/mpi|engine.h codec/ mpi/"
)
src_headers=$(cd src && ls *.h)
for rule in "${rules[@]}"; do
    room=${rule%%|*}
    allowed=${rule#*|}
    for f in "$room"/*.[ch]; do
        [ -e "$f" ] || continue
        while IFS= read -r inc; do
            case $inc in infinite_tensor/* | infinite_tensor.h) continue ;; esac
            ok=0
            for a in $allowed; do
                case $a in
                    src:) grep -qx "$inc" <<<"$src_headers" && ok=1 ;; # src/'s own headers
                    */) [[ $inc == "$a"* ]] && ok=1 ;;
                    *) [ "$inc" = "$a" ] && ok=1 ;;
                esac
            done
            [ $ok -eq 1 ] || say "$f includes \"$inc\", which the room $room may not (allowed: $allowed)"
        done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
    done
done
for d in $(find io src -type d); do
    found=0
    for rule in "${rules[@]}"; do [ "${rule%%|*}" = "$d" ] && found=1; done
    [ $found -eq 1 ] || say "the folder $d has no rule in tests/structure.sh"
done
if grep -rln '#include <hdf5' src >/dev/null 2>&1; then
    say "src/ includes hdf5.h: $(grep -rln '#include <hdf5' src | tr '\n' ' ')"
fi
sources=$(find src io -name '*.[ch]' | sort)
for f in $sources; do
    n=$(wc -l <"$f")
    [ "$n" -le 650 ] || say "$f has $n lines (at most 650)"
done
# A function starts at a line opening with a declaration that has '(' and does not end in ';'
# and ends at the next line that is a lone '}'.
awk '/^[A-Za-z_].*\(/ && !/;[ \t]*$/ && !/^typedef/ && !start { name=$0; start=FNR }
     /^}/ { if (start && FNR - start + 1 > 100) printf "%s:%d: %d lines: %s\n", FILENAME, start, FNR - start + 1, name; start=0 }
     /^[A-Za-z_].*;[ \t]*$/ { if (start && FNR == start) start=0 }' \
    $(find src io tools/itensor -name '*.c' | sort) >/tmp/structure-long.$$ || true
if [ -s /tmp/structure-long.$$ ]; then
    say "functions over 100 lines:"; cat /tmp/structure-long.$$
fi
rm -f /tmp/structure-long.$$
if [ -n "$lib" ]; then
    extra=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^it_' | grep -v '^_' || true)
    [ -z "$extra" ] || say "the shared library exports non-API symbols: $extra"
fi
[ $fail -eq 0 ] && echo "structure: every room includes only what its rule allows, no hdf5.h in src/, files <= 650 lines, functions <= 100 lines, only it_* exported"
exit $fail
