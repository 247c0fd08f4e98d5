"""The package's declarations against the real headers: a C program generated from the
declared structs prints every size and field offset as the compiler lays them out, and the
value of every constant and enum value the package declares."""
import os
import subprocess
import sys

import pytest

from infinite_tensor import _lib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def _includes():
    dirs = [os.path.join(ROOT, "include")]
    extra = os.environ.get("INFINITE_TENSOR_GENERATED_INCLUDE")
    if extra:
        dirs.append(extra)
    else:
        dirs.append(os.path.join(ROOT, "build", "include"))
    return dirs


def test_struct_layouts_match_the_headers(tmp_path):
    cc = os.environ.get("CC", "cc")
    lines = ["#include <stddef.h>", "#include <stdio.h>", "#include <infinite_tensor.h>",
             "int main(void) {"]
    expected = []
    for name in _lib.STRUCTS:
        t = _lib.ffi.typeof(name)
        lines.append(f'    printf("%zu\\n", sizeof({name}));')
        expected.append((name, _lib.ffi.sizeof(t)))
        for field, info in t.fields:
            lines.append(f'    printf("%zu\\n", offsetof({name}, {field}));')
            expected.append((f"{name}.{field}", info.offset))
    # the macros the package copies, and every enum value it declares
    values = dict(_lib.CONSTANTS)
    for name in dir(_lib.lib):
        if name.startswith("IT_") and isinstance(getattr(_lib.lib, name), int):
            values[name] = getattr(_lib.lib, name)
    for name, value in sorted(values.items()):
        lines.append(f'    printf("%lld\\n", (long long)({name}));')
        expected.append((name, value))
    lines += ["    return 0;", "}"]
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines) + "\n")
    exe = tmp_path / "layout"
    args = [cc, "-std=c11", "-o", str(exe), str(src)] + [f"-I{d}" for d in _includes()]
    try:
        subprocess.run(args, check=True, capture_output=True, text=True)
    except FileNotFoundError:
        pytest.skip(f"no C compiler ({cc})")
    except subprocess.CalledProcessError as e:
        pytest.fail("the declared structs do not compile against the headers:\n" + e.stderr)
    got = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split()
    assert len(got) == len(expected)
    wrong = [f"{what}: declared {want}, compiler {int(g)}"
             for (what, want), g in zip(expected, got) if int(g) != want]
    assert not wrong, "\n".join(wrong)
    print(f"{len(expected)} sizes, offsets and constants match", file=sys.stderr)
