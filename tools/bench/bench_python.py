#!/usr/bin/env python3
"""bench_python: what a Python window function costs. The blur-of-blur workload of bench_eval
(a (3, inf, inf) noise image in 512x512 windows -> 5x5 gaussian -> 5x5 gaussian through padded
windows, read over [:, 0:4096, 0:4096] from a memory store on 2 threads) with numpy window
functions through the Python package, against the same workload with C window functions
(`bench_eval --only=2`: the library, 2 threads, every chunk kept). Both compute the same
windows with the same float32 arithmetic, so their checksums agree. Also the package's own
cost per window call, with trivial functions on 16x16 windows. Every measurement runs in a
fresh process, alternating; medians are reported.

Usage: bench_python.py [runs] [size]   (defaults 3 and 4096; size a multiple of 512)
Environment: INFINITE_TENSOR_LIBRARY (default: build/libinfinite_tensor.so of this checkout),
             BENCH_EVAL (default: build/tools/bench/bench_eval)."""
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
    calls = [0]

    def mix32(x):
        x ^= x >> np.uint32(16)
        x *= np.uint32(0x7FEB352D)
        x ^= x >> np.uint32(15)
        x *= np.uint32(0x846CA68B)
        x ^= x >> np.uint32(16)
        return x

    c = np.arange(3, dtype=np.uint32)[:, None, None]
    yy = np.arange(BW, dtype=np.uint32)[None, :, None]
    xx = np.arange(BW, dtype=np.uint32)[None, None, :]

    def noise(ctx):  # bench_noise of tools/bench/blur_kernels.c, vectorised
        calls[0] += 1
        with np.errstate(over="ignore"):
            gy = np.uint32(ctx[1] * BW & 0xFFFFFFFF) + yy
            row = c * np.uint32(0x9E3779B9) ^ gy * np.uint32(0x85EBCA6B)
            gx = np.uint32(ctx[2] * BW & 0xFFFFFFFF) + xx
            h = mix32(row + gx * np.uint32(0xC2B2AE35))
        return (h >> np.uint32(8)).astype(np.float32) * np.float32(1.0 / 16777216.0)

    def blur(ctx, im):  # bench_blur: rows, then columns, in the same order of operations
        calls[0] += 1
        t = (k[0] * im[:, :, 0:BW] + k[1] * im[:, :, 1:BW + 1] + k[2] * im[:, :, 2:BW + 2]
             + k[3] * im[:, :, 3:BW + 3] + k[4] * im[:, :, 4:BW + 4])
        return (k[0] * t[:, 0:BW] + k[1] * t[:, 1:BW + 1] + k[2] * t[:, 2:BW + 2]
                + k[3] * t[:, 3:BW + 3] + k[4] * t[:, 4:BW + 4])

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
    return ms, checksum, calls[0], rss


def overhead_run():
    """The package's own cost per window: trivial functions (a source of 16x16 zeros and a
    consumer returning its argument) over [0, 2048)^2, 32768 calls; (us per call, calls)."""
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import numpy as np
    from infinite_tensor import Context, MemoryTileStore, TensorWindow

    size, n = 16, 2048
    zeros = np.zeros((size, size), np.float32)
    w = TensorWindow((size, size))
    store = MemoryTileStore(context=Context(threads=2))
    src = store.get_or_create("zeros", (None, None), lambda ctx: zeros, w)
    same = store.get_or_create("same", (None, None), lambda ctx, x: x, w, args=(src,),
                               args_windows=(w,))
    t0 = time.perf_counter()
    same[0:n, 0:n]
    us = (time.perf_counter() - t0) * 1e6
    calls = 2 * (n // size) ** 2
    store.close()
    return us / calls, calls


def fresh(args):
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    line = [x for x in out.splitlines() if x.startswith("RESULT")][-1].split()
    return float(line[1]), float(line[2]), int(line[3]), float(line[4])


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--only-overhead":
        us, calls = overhead_run()
        print(f"RESULT {us:.3f} 0 {calls} 0")
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--only-python":
        ms, checksum, calls, rss = python_run(int(sys.argv[2]))
        print(f"RESULT {ms:.3f} {checksum:.17g} {calls} {rss:.1f}")
        return 0
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 4096
    if not 1 <= runs <= 50 or size <= 0 or size % BW:
        print(f"usage: bench_python.py [runs 1..50] [size, a multiple of {BW}]", file=sys.stderr)
        return 2
    env = dict(os.environ)
    env.setdefault("INFINITE_TENSOR_LIBRARY", os.path.join(ROOT, "build", "libinfinite_tensor.so"))
    c_bench = env.get("BENCH_EVAL", os.path.join(ROOT, "build", "tools", "bench", "bench_eval"))
    py, c, over = [], [], []
    for _ in range(runs):
        over.append(fresh([sys.executable, os.path.abspath(__file__), "--only-overhead"]))
        py.append(fresh([sys.executable, os.path.abspath(__file__), "--only-python", str(size)]))
        r = subprocess.run([c_bench, "--only=2", "--raw", str(size)], check=True,
                           capture_output=True, text=True, env=env).stdout
        f = [x for x in r.splitlines() if x.startswith("RESULT")][-1].split()
        c.append((float(f[1]), float(f[2]), int(f[3]), float(f[4])))
    py_ms = statistics.median(x[0] for x in py)
    c_ms = statistics.median(x[0] for x in c)
    py_rss = statistics.median(x[3] for x in py)
    c_rss = statistics.median(x[3] for x in c)
    windows = py[0][2]
    c_windows = c[0][2] // 1000000 + c[0][2] % 1000000  # bench_eval: noise * 1e6 + blur
    same = py[0][1] == c[0][1]
    print(f"blur-of-blur over [:, 0:{size}, 0:{size}] f32, memory store, 2 threads, "
          f"{runs} run(s) each, medians:")
    print(f"  numpy window functions (Python)  {py_ms:9.1f} ms   peak RSS {py_rss:7.1f} MiB   "
          f"{windows} windows")
    print(f"  C window functions (bench_eval)  {c_ms:9.1f} ms   peak RSS {c_rss:7.1f} MiB   "
          f"{c_windows} windows")
    print(f"  checksums {'equal' if same else 'DIFFER'}: {py[0][1]:.10e} / {c[0][1]:.10e}")
    us_call = statistics.median(x[0] for x in over)
    print(f"  the package's own cost: {us_call:.1f} us per window call (trivial functions on "
          f"16x16 windows, {over[0][2]} calls)")
    per_window = (py_ms - c_ms) / windows
    print(f"BENCH python: ratio={py_ms / c_ms:.2f} ms_python={py_ms:.0f} ms_c={c_ms:.0f} "
          f"ms_per_window_extra={per_window:.2f} us_per_call_overhead={us_call:.1f} "
          f"same_result={int(same)}")
    return 0 if same and windows == c_windows else 1


if __name__ == "__main__":
    sys.exit(main())
