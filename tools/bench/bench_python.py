#!/usr/bin/env python3
"""bench_python: what a Python window function costs. The blur-of-blur workload of bench_eval
(a (3, inf, inf) noise image in 512x512 windows -> 5x5 gaussian -> 5x5 gaussian through padded
windows, read over [:, 0:4096, 0:4096] from a memory store on 2 threads) with numpy window
functions through the Python package, against the same workload with C window functions
(`bench_eval --only=2`: the library, 2 threads, every chunk kept). Both compute the same
windows with the same float32 arithmetic, so their checksums agree. The numpy functions are
written as for speed (operations in place into a few arrays, no temporaries per term).

The Python side runs twice: with glibc's default allocator settings, which give freed large
arrays back to the kernel so that every new numpy array of a window's size is paged in again
(measured: most of the difference), and with GLIBC_TUNABLES keeping freed memory
(python/README.md, "Cost of a Python function"). Also the package's own cost per window, with
trivial functions on 16x16 windows: one call per window (the package hands up to 16 small
windows over per GIL acquisition), and stacked batches of 64 windows per call, each less the
same workload's cost with C functions (`bench_calls --raw`). Every measurement runs in a fresh
process, alternating; medians are reported.

Usage: bench_python.py [runs] [size]   (defaults 3 and 4096; size a multiple of 512)
Environment: INFINITE_TENSOR_LIBRARY (default: build/libinfinite_tensor.so of this checkout),
             BENCH_EVAL, BENCH_CALLS (default: build/tools/bench/bench_eval, bench_calls)."""
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
BW, PAD = 512, 2
K = (0.05448869, 0.24420134, 0.40261994, 0.24420134, 0.05448869)


def python_run(size):
    """One run in this process: (ms, checksum, windows, peak RSS MiB)."""
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import numpy as np
    from infinite_tensor import Context, MemoryTileStore, TensorWindow

    k = np.array(K, dtype=np.float32)
    calls, spent = [0], [0.0]

    def timed(fn):  # counts the calls and the time spent inside them, summed over threads
        def call(*a):
            t0 = time.perf_counter()
            try:
                return fn(*a)
            finally:
                calls[0] += 1
                spent[0] += time.perf_counter() - t0
        return call

    c = np.arange(3, dtype=np.uint32)[:, None, None]
    yy = np.arange(BW, dtype=np.uint32)[None, :, None]
    xx = np.arange(BW, dtype=np.uint32)[None, None, :]

    @timed
    def noise(ctx):  # bench_noise of tools/bench/blur_kernels.c, vectorised
        with np.errstate(over="ignore"):
            gy = np.uint32(ctx[1] * BW & 0xFFFFFFFF) + yy
            row = c * np.uint32(0x9E3779B9) ^ gy * np.uint32(0x85EBCA6B)
            gx = (np.uint32(ctx[2] * BW & 0xFFFFFFFF) + xx) * np.uint32(0xC2B2AE35)
            h = np.add(row, gx)  # the mix of bench_noise, in place
            t = np.empty_like(h)
            for shift, factor in ((16, 0x7FEB352D), (15, 0x846CA68B)):
                np.right_shift(h, np.uint32(shift), out=t)
                h ^= t
                h *= np.uint32(factor)
            np.right_shift(h, np.uint32(16), out=t)
            h ^= t
            h >>= np.uint32(8)
        out = h.astype(np.float32)
        out *= np.float32(1.0 / 16777216.0)
        return out

    @timed
    def blur(ctx, im):  # bench_blur: rows, then columns, in the same order of operations
        t = np.multiply(im[:, :, 0:BW], k[0])
        term = np.empty_like(t)
        for i in range(1, 5):
            np.multiply(im[:, :, i:BW + i], k[i], out=term)
            t += term
        out = np.multiply(t[:, 0:BW], k[0])
        term = term[:, 0:BW]
        for i in range(1, 5):
            np.multiply(t[:, i:BW + i], k[i], out=term)
            out += term
        return out

    t0 = time.perf_counter()
    store = MemoryTileStore(context=Context(threads=2))
    w = TensorWindow((3, BW, BW))
    padded = TensorWindow((3, BW + 2 * PAD, BW + 2 * PAD), stride=(3, BW, BW),
                          offset=(0, -PAD, -PAD))
    image = store.get_or_create("image", (3, None, None), noise, w)
    blur1 = store.get_or_create("blur1", (3, None, None), blur, w, args=(image,),
                                args_windows=(padded,))
    blur2 = store.get_or_create("blur2", (3, None, None), blur, w, args=(blur1,),
                                args_windows=(padded,))
    out = blur2[:, 0:size, 0:size]
    ms = (time.perf_counter() - t0) * 1e3
    flat = out.reshape(-1)
    idx = np.arange(0, flat.size, 7)
    # bench_eval's checksum, summed in the same sequential order (cumsum, not pairwise)
    checksum = float(np.cumsum(flat[idx].astype(np.float64) * (idx % 13 + 1))[-1])
    store.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return ms, checksum, calls[0], rss, spent[0] * 1e3


def overhead_run(stacked):
    """The package's own cost per window: trivial functions (a source of 16x16 zeros and a
    consumer returning its argument) over [0, 2048)^2, 32768 windows, one call per window or
    stacked batches of 64; (us per window, windows)."""
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import numpy as np
    from infinite_tensor import Context, InfiniteTensor, MemoryTileStore, TensorWindow

    size, n = 16, 2048
    w = TensorWindow((size, size))
    store = MemoryTileStore(context=Context(threads=2))
    if stacked:
        zeros = np.zeros((64, size, size), np.float32)
        src = InfiniteTensor((None, None), lambda ix: zeros[:len(ix)], w, tile_store=store,
                             batch_size=64, stacked=True)
        same = InfiniteTensor((None, None), lambda ix, x: x, w, args=(src,), args_windows=(w,),
                              tile_store=store, batch_size=64, stacked=True)
    else:
        zeros = np.zeros((size, size), np.float32)
        src = InfiniteTensor((None, None), lambda ix: zeros, w, tile_store=store)
        same = InfiniteTensor((None, None), lambda ix, x: x, w, args=(src,), args_windows=(w,),
                              tile_store=store)
    t0 = time.perf_counter()
    same[0:n, 0:n]
    us = (time.perf_counter() - t0) * 1e6
    windows = 2 * (n // size) ** 2
    store.close()
    return us / windows, windows


TUNED = "glibc.malloc.mmap_threshold=67108864:glibc.malloc.trim_threshold=1073741824"


def fresh(args, env):
    out = subprocess.run(args, check=True, capture_output=True, text=True, env=env).stdout
    line = [x for x in out.splitlines() if x.startswith("RESULT")][-1].split()
    return [float(x) for x in line[1:]]


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--only-overhead":
        us, windows = overhead_run(sys.argv[2] == "stacked")
        print(f"RESULT {us:.3f} 0 {windows} 0")
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--only-python":
        ms, checksum, calls, rss, fn_ms = python_run(int(sys.argv[2]))
        print(f"RESULT {ms:.3f} {checksum:.17g} {calls} {rss:.1f} {fn_ms:.1f}")
        return 0
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 4096
    if not 1 <= runs <= 50 or size <= 0 or size % BW:
        print(f"usage: bench_python.py [runs 1..50] [size, a multiple of {BW}]", file=sys.stderr)
        return 2
    env = dict(os.environ)
    env.setdefault("INFINITE_TENSOR_LIBRARY", os.path.join(ROOT, "build", "libinfinite_tensor.so"))
    env.pop("GLIBC_TUNABLES", None)
    tuned = dict(env, GLIBC_TUNABLES=TUNED)
    bench_dir = os.path.join(ROOT, "build", "tools", "bench")
    c_bench = env.get("BENCH_EVAL", os.path.join(bench_dir, "bench_eval"))
    c_calls = env.get("BENCH_CALLS", os.path.join(bench_dir, "bench_calls"))
    me = [sys.executable, os.path.abspath(__file__)]
    py, py_tuned, c, per_call, per_stacked, per_c = [], [], [], [], [], []
    for _ in range(runs):
        per_c.append(fresh([c_calls, "--raw"], env))
        per_call.append(fresh(me + ["--only-overhead", "window"], env))
        per_stacked.append(fresh(me + ["--only-overhead", "stacked"], env))
        py.append(fresh(me + ["--only-python", str(size)], env))
        py_tuned.append(fresh(me + ["--only-python", str(size)], tuned))
        c.append(fresh([c_bench, "--only=2", "--raw", str(size)], env))
    med = lambda rows, i: statistics.median(x[i] for x in rows)  # noqa: E731
    py_ms, tuned_ms, c_ms = med(py, 0), med(py_tuned, 0), med(c, 0)
    windows = int(py[0][2])
    c_windows = int(c[0][2]) // 1000000 + int(c[0][2]) % 1000000  # noise * 1e6 + blur
    same = py[0][1] == c[0][1] == py_tuned[0][1]
    print(f"blur-of-blur over [:, 0:{size}, 0:{size}] f32, memory store, 2 threads, "
          f"{runs} run(s) each, medians:")
    print(f"  numpy window functions (Python)  {py_ms:9.1f} ms   peak RSS {med(py, 3):7.1f} MiB"
          f"   {windows} windows")
    print(f"    with GLIBC_TUNABLES={TUNED}")
    print(f"                                   {tuned_ms:9.1f} ms   peak RSS "
          f"{med(py_tuned, 3):7.1f} MiB")
    print(f"  inside the numpy functions: {med(py, 4):.0f} ms / {med(py_tuned, 4):.0f} ms tuned "
          "(summed over the 2 threads)")
    print(f"  C window functions (bench_eval)  {c_ms:9.1f} ms   peak RSS {med(c, 3):7.1f} MiB"
          f"   {c_windows} windows")
    print(f"  checksums {'equal' if same else 'DIFFER'}: {py[0][1]:.10e} / {c[0][1]:.10e}")
    us_call, us_stacked, us_c = med(per_call, 0), med(per_stacked, 0), med(per_c, 0)
    print(f"  trivial functions on 16x16 windows ({int(per_call[0][2])} windows), per window: "
          f"Python {us_call:.1f} us called one by one, {us_stacked:.2f} us in stacked batches "
          f"of 64; C {us_c:.2f} us")
    print(f"  the package's own cost: {us_call - us_c:.1f} us per window call, "
          f"{us_stacked - us_c:.2f} us per window stacked")
    print(f"BENCH python: ratio={py_ms / c_ms:.2f} ratio_tuned={tuned_ms / c_ms:.2f} "
          f"ms_python={py_ms:.0f} ms_python_tuned={tuned_ms:.0f} ms_c={c_ms:.0f} "
          f"us_per_call={us_call - us_c:.1f} us_per_window_stacked={us_stacked - us_c:.2f} "
          f"same_result={int(same)}")
    return 0 if same and windows == c_windows else 1


if __name__ == "__main__":
    sys.exit(main())
