#!/usr/bin/env bash
# Downstream projects, as a new user builds them: installs the library from BUILD_DIR to a
# temporary prefix (with a space in its path), then builds and runs consumers with CMake (a C
# and a C++ project, each with the shared and the static library) and with pkg-config from a
# copy of the prefix elsewhere (shared through LD_LIBRARY_PATH and through an rpath; static by
# the infinite_tensor_static module beside the shared library, and by --static from a prefix
# that holds only the static library). Usage: downstream.sh BUILD_DIR SOURCE_DIR/tests/downstream
set -euo pipefail
build=$1 src=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
prefix="$dir/prefix with space"
cmake --install "$build" --prefix "$prefix" >/dev/null
cd "$dir"
for lang in C CXX; do
    if [ "$lang" = CXX ] && ! command -v c++ >/dev/null; then
        echo "FAILED: no C++ compiler (install g++)"; exit 1
    fi
    cmake -S "$src" -B "b-$lang" -DLANG=$lang -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
    cmake --build "b-$lang" >/dev/null
    for kind in shared static; do
        "b-$lang/consumer_$kind" "$dir/$lang-$kind.h5"
        echo "  CMake, $lang, $kind: passed"
    done
done
# pkg-config from a copy of the prefix (the .pc file finds its prefix from where it lies; a
# shell splits pkg-config's output at spaces, so this prefix has none)
moved="$dir/moved"
cp -r "$prefix" "$moved"
export PKG_CONFIG_PATH="$moved/lib/pkgconfig"
# shellcheck disable=SC2046
cc -std=c11 "$src/consumer.c" -o pc-shared $(pkg-config --cflags --libs infinite_tensor)
LD_LIBRARY_PATH="$moved/lib" ./pc-shared "$dir/pc-shared.h5"
# or with the library's directory recorded in the program (README: a prefix the loader does
# not search)
# shellcheck disable=SC2046
cc -std=c11 "$src/consumer.c" -o pc-rpath $(pkg-config --cflags --libs infinite_tensor) \
    -Wl,-rpath,"$moved/lib"
./pc-rpath "$dir/pc-rpath.h5"
echo "  pkg-config, shared: passed (LD_LIBRARY_PATH, rpath)"
# the static module links the static library even where the shared one lies beside it
# shellcheck disable=SC2046
cc -std=c11 "$src/consumer.c" -o pc-static-module $(pkg-config --cflags --libs infinite_tensor_static)
if ldd ./pc-static-module | grep -q libinfinite_tensor; then
    echo "FAILED: infinite_tensor_static links the shared library"; exit 1
fi
./pc-static-module "$dir/pc-static-module.h5"
echo "  pkg-config, infinite_tensor_static beside the shared library: passed"
static="$dir/static-only"
cp -r "$prefix" "$static"
rm -f "$static"/lib/libinfinite_tensor.so*
# shellcheck disable=SC2046
cc -std=c11 "$src/consumer.c" -o pc-static \
    $(PKG_CONFIG_PATH="$static/lib/pkgconfig" pkg-config --static --cflags --libs infinite_tensor)
./pc-static "$dir/pc-static.h5"
if ldd ./pc-static | grep -q libinfinite_tensor; then
    echo "FAILED: the static consumer loads the shared library"; exit 1
fi
echo "  pkg-config, static: passed"
# Python: the installed package finds its library, also from the moved copy
if /usr/bin/python3 -c "import cffi, numpy" 2>/dev/null; then
    for root in "$prefix" "$moved"; do
        site=$(find "$root" -type d -name infinite_tensor -path "*python3*" | head -1)
        (unset INFINITE_TENSOR_LIBRARY; cd "$dir" && PYTHONPATH="$(dirname "$site")" /usr/bin/python3 -c '
import numpy as np, infinite_tensor as it
s = it.MemoryTileStore()
t = s.get_or_create("ones", (None, None), lambda c: np.ones((8, 8), np.float32), it.TensorWindow((8, 8)))
assert t[-4:4, 0:3].sum() == 24, "wrong values"
assert it.__file__.startswith("'"$root"'"), it.__file__
')
    done
    echo "  Python, installed and moved: passed"
fi
# The documentation a user finds after installing: man pages (man finds them under the
# prefix's share/man), bash completion, the API reference (each when its tool was found)
man1="$prefix/share/man/man1"
if [ -d "$man1" ]; then
    for page in itensor itensor-export itensor-compact; do
        [ -s "$man1/$page.1" ] || { echo "FAILED: $page.1 not installed"; exit 1; }
    done
    if command -v man >/dev/null; then
        MANPATH="$prefix/share/man" man -w itensor-export | grep -q "prefix with space/share/man/man1/itensor-export.1" ||
            { echo "FAILED: man does not find itensor-export under the prefix"; exit 1; }
    fi
    echo "  man pages: installed"
fi
completion="$prefix/share/bash-completion/completions/itensor"
[ -s "$completion" ] || { echo "FAILED: no bash completion installed"; exit 1; }
PATH="$prefix/bin:$PATH" bash -c 'source "$1"; COMP_WORDS=(itensor comp); COMP_CWORD=1; _itensor; [ "${COMPREPLY[*]}" = compact ]' _ "$completion" ||
    { echo "FAILED: the installed completion does not complete"; exit 1; }
echo "  bash completion: installed, completes"
api=$(find "$prefix/share/doc" -path "*/api/index.html" | head -1)
if [ -n "$api" ]; then
    grep -q "infinite-tensor" "$api" || { echo "FAILED: the API reference's index"; exit 1; }
    echo "  API reference: installed"
fi
