#!/usr/bin/python3
"""The documentation test: every C and shell block of README.md and io/FORMAT.md runs as printed.

A fenced ```c block with a main() is a program: compiled with warnings as errors against the
built library and run; it must exit 0, and when the next block is ```text (its printed output)
print exactly that. A ```c block without main() is a fragment: compiled (syntax and types) inside
a function that declares the names the README's fragments use. A ```sh block runs with bash from
a directory where `build` is the build tree and `python` the package's sources; it must exit 0.
A block right after a line `<!-- doc-test: skip (why) -->` is not run.

Usage: doc_blocks.py SOURCE_DIR LIBRARY_FILE GENERATED_INCLUDE_DIR
"""
import os
import re
import subprocess
import sys
import tempfile

FENCE = re.compile(r"^```(\w*)\s*$")
SKIP = "<!-- doc-test: skip"

# What the README's fragments refer to: the handles and structs of the text around them.
FRAGMENT_PRELUDE = """
#include <stdio.h>
#include <infinite_tensor.h>
void fragment(void);
void fragment(void) {
    it_ctx *ctx = NULL;
    it_store *store = NULL;
    it_tensor *t = NULL;
    it_tensor_stats stats;
    it_region region;
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    (void)ctx; (void)store; (void)t; (void)stats; (void)region;
"""


def blocks(path):
    """(language, first line number, text, skipped) of each fenced block of path."""
    lines = open(path, encoding="utf-8").read().split("\n")
    out, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, lang = i, m.group(1)
        i += 1
        body = []
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        skipped = start > 0 and lines[start - 1].strip().startswith(SKIP)
        out.append((lang, start + 1, "\n".join(body) + "\n", skipped))
        i += 1
    return out


def compile_c(src, exe, cflags, ldflags, syntax_only):
    cmd = ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", *cflags, src]
    cmd += ["-fsyntax-only"] if syntax_only else ["-o", exe, *ldflags]
    return subprocess.run(cmd, capture_output=True, text=True)


def main():
    source, library, generated = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
    libdir = os.path.dirname(library)
    cflags = ["-I" + os.path.join(source, "include"), "-I" + generated]
    ldflags = ["-L" + libdir, "-linfinite_tensor", "-Wl,-rpath," + libdir]
    failures, ran = [], 0
    with tempfile.TemporaryDirectory() as work:
        os.symlink(libdir, os.path.join(work, "build"))
        os.symlink(os.path.join(source, "python"), os.path.join(work, "python"))
        for doc in ("README.md", "io/FORMAT.md"):
            found = blocks(os.path.join(source, doc))
            for k, (lang, line, text, skipped) in enumerate(found):
                where = f"{doc}:{line}"
                if skipped or lang not in ("c", "sh"):
                    continue
                ran += 1
                if lang == "sh":
                    r = subprocess.run(["bash", "-euo", "pipefail", "-c", text], cwd=work,
                                       capture_output=True, text=True, timeout=600)
                    if r.returncode:
                        failures.append(f"{where}: the shell block exits {r.returncode}:\n"
                                        f"{r.stderr[-2000:]}")
                    continue
                src = os.path.join(work, f"block{k}.c")
                program = re.search(r"\bint\s+main\s*\(", text) is not None
                with open(src, "w") as f:
                    f.write(text if program else FRAGMENT_PRELUDE + text + "}\n")
                exe = os.path.join(work, f"block{k}")
                r = compile_c(src, exe, cflags, ldflags, not program)
                if r.returncode:
                    failures.append(f"{where}: the C block does not compile:\n{r.stderr[-2000:]}")
                    continue
                if not program:
                    continue
                r = subprocess.run([exe], cwd=work, capture_output=True, text=True, timeout=120)
                if r.returncode:
                    failures.append(f"{where}: the program exits {r.returncode}: {r.stderr}")
                nxt = found[k + 1] if k + 1 < len(found) else None
                if nxt and nxt[0] == "text" and r.stdout != nxt[2]:
                    failures.append(f"{where}: the program prints\n{r.stdout}but the README "
                                    f"shows\n{nxt[2]}")
    for f in failures:
        print("FAILED " + f)
    print(f"{ran} blocks run, {len(failures)} failed")
    return 1 if failures or ran == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
