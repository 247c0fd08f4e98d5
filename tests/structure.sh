#!/usr/bin/env bash
# The structure holds: io/ includes no private header of src/ but the seam (backend.h), src/
# never includes hdf5.h, no source file is over 650 lines nor any function over 100, and the
# shared library exports only the public it_* API. Usage: structure.sh SOURCE_DIR [LIBRARY.so]
set -euo pipefail
cd "$1"
lib=${2:-}
fail=0
say() { echo "structure: $*"; fail=1; }

for h in src/*.h; do
    name=$(basename "$h")
    [ "$name" = backend.h ] && continue
    if grep -l "#include \"$name\"" io/* >/dev/null 2>&1; then
        say "io/ includes the private header src/$name: $(grep -l "#include \"$name\"" io/* | tr '\n' ' ')"
    fi
done
if grep -ln '#include <hdf5' src/* >/dev/null 2>&1; then
    say "src/ includes hdf5.h: $(grep -ln '#include <hdf5' src/* | tr '\n' ' ')"
fi
for f in src/*.c src/*.h io/*.c io/*.h; do
    n=$(wc -l <"$f")
    [ "$n" -le 650 ] || say "$f has $n lines (at most 650)"
done
# A function starts at a line opening with a declaration that has '(' and does not end in ';'
# and ends at the next line that is a lone '}'.
awk '/^[A-Za-z_].*\(/ && !/;[ \t]*$/ && !/^typedef/ && !start { name=$0; start=FNR }
     /^}/ { if (start && FNR - start + 1 > 100) printf "%s:%d: %d lines: %s\n", FILENAME, start, FNR - start + 1, name; start=0 }
     /^[A-Za-z_].*;[ \t]*$/ { if (start && FNR == start) start=0 }' \
    src/*.c io/*.c tools/itensor/*.c >/tmp/structure-long.$$ || true
if [ -s /tmp/structure-long.$$ ]; then
    say "functions over 100 lines:"; cat /tmp/structure-long.$$
fi
rm -f /tmp/structure-long.$$
if [ -n "$lib" ]; then
    extra=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^it_' | grep -v '^_' || true)
    [ -z "$extra" ] || say "the shared library exports non-API symbols: $extra"
fi
[ $fail -eq 0 ] && echo "structure: io/ -> src/backend.h only, no hdf5.h in src/, files <= 650 lines, functions <= 100 lines, only it_* exported"
exit $fail
