#!/usr/bin/env bash
# The shared library's ABI against tools/release/abi-symbols.txt: its soname, every exported
# symbol and the size of every public struct, as committed. What to do when it differs is
# tools/release/ABI.md: additions (a new function, a field at the end of a struct with
# struct_size) update the list; anything else also needs a new soname (IT_ABI_VERSION).
# Usage: abi.sh LIBRARY ABI_LAYOUT LIST [--write]
set -euo pipefail
lib=$1 layout=$2 list=$3
current() {
    echo "soname $(objdump -p "$lib" | awk '/SONAME/ {print $2}')"
    nm -D --defined-only "$lib" | awk '{print "symbol " $3}' | sort
    "$layout" | sort
}
if [ "${4:-}" = --write ]; then
    { sed -n '/^#/p' "$list"; current; } >"$list.new" && mv "$list.new" "$list"
    echo "abi: wrote $list"
    exit 0
fi
if diff <(grep -v '^#' "$list") <(current) >/tmp/abi-diff.$$; then
    echo "abi: soname, $(grep -c '^symbol' "$list") symbols and $(grep -c '^struct' "$list") struct sizes as committed"
    rm -f /tmp/abi-diff.$$
    exit 0
fi
echo "abi: the library's ABI differs from $list (< committed, > built):"
cat /tmp/abi-diff.$$
rm -f /tmp/abi-diff.$$
echo "abi: see tools/release/ABI.md; additions: tests/abi.sh LIB ABI_LAYOUT LIST --write;"
echo "     a removed or changed symbol, or a struct without struct_size of another size: a new soname"
exit 1
