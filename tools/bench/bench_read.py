#!/usr/bin/env python3
"""bench_read.py: the Python part of bench_read. A stored (3, inf, inf) f32 tensor over
[:, 0:S, 0:S] (S = 4096: 192 MiB), uncompressed and deflate, summed from Python three ways:
t.blocks(region) (chunk views in place; the uncompressed store opened with map=True),
t[region] (the copying read) and h5py (its own read of the data set). Page cache warm, each
measurement in a fresh process, alternating; medians.

Usage: bench_read.py [runs] [size]   (defaults 3 and 4096; size a multiple of 512)
Environment: INFINITE_TENSOR_LIBRARY (default: build/libinfinite_tensor.so of this checkout)."""
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
W = 512


def make(path, size, codec):
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import numpy as np
    import infinite_tensor as it

    def image(ctx):
        y, x = np.indices((W, W), dtype=np.float32)
        return np.stack([(y + ctx[1] * W + c) * 0.001 + (x + ctx[2] * W) * 0.002
                         for c in range(3)]).astype(np.float32)

    with it.HDF5TileStore(path, mode="w", compression=codec) as s:
        t = it.InfiniteTensor((3, None, None), image, it.TensorWindow((3, W, W)), tile_store=s,
                              tensor_id="image")
        t.fill((slice(None), slice(0, size), slice(0, size)))


def measure(how, path, size):
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import h5py
    import numpy as np
    import infinite_tensor as it
    t0 = time.perf_counter()
    if how == "h5py":
        with h5py.File(path, "r") as f:
            d = f["tensors/image/data"]
            o = [int(v) for v in d.attrs["origin"]] if "origin" in d.attrs else [0, 0, 0]
            total = float(d[0:3, -o[1]:size - o[1], -o[2]:size - o[2]].sum(dtype=np.float64))
    else:
        with it.HDF5TileStore(path, mode="r", map=how == "blocks" and "none" in path) as s:
            t = s.open("image")
            region = (slice(None), slice(0, size), slice(0, size))
            if how == "blocks":
                total = sum(float(v.sum(dtype=np.float64)) for _, v in t.blocks(region))
            else:
                total = float(t[region].sum(dtype=np.float64))
    return (time.perf_counter() - t0) * 1e3, total


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--only":
        ms, total = measure(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        print(f"RESULT {ms:.3f} {total:.17g}")
        return 0
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 4096
    if not 1 <= runs <= 50 or size % W:
        print(f"usage: bench_read.py [runs 1..50] [size, a multiple of {W}]", file=sys.stderr)
        return 2
    env = dict(os.environ)
    env.setdefault("INFINITE_TENSOR_LIBRARY", os.path.join(ROOT, "build", "libinfinite_tensor.so"))
    os.environ.update(env)
    results, ok = {}, True
    with tempfile.TemporaryDirectory() as tmp:
        for codec in ("none", "deflate"):
            path = os.path.join(tmp, f"read-{codec}.h5")
            make(path, size, codec)
            times = {k: [] for k in ("blocks", "read", "h5py")}
            sums = {}
            for _ in range(runs):
                for how in times:
                    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--only", how,
                                          path, str(size)], check=True, capture_output=True,
                                         text=True, env=env).stdout
                    line = [x for x in out.splitlines() if x.startswith("RESULT")][-1].split()
                    times[how].append(float(line[1]))
                    sums[how] = float(line[2])
            ok = ok and max(sums.values()) - min(sums.values()) <= 1e-6 * abs(sums["read"])
            results[codec] = {k: statistics.median(v) for k, v in times.items()}
            r = results[codec]
            print(f"{codec:8} t.blocks {r['blocks']:7.0f} ms   t[...] {r['read']:7.0f} ms   "
                  f"h5py {r['h5py']:7.0f} ms")
    print(f"sum of [:, 0:{size}, 0:{size}] f32 from Python, {runs} run(s) each, medians; sums "
          f"{'agree' if ok else 'DIFFER'}")
    n, d = results["none"], results["deflate"]
    print(f"BENCH read_python: blocks_over_read_none={n['read'] / n['blocks']:.2f} "
          f"blocks_over_h5py_none={n['h5py'] / n['blocks']:.2f} "
          f"blocks_over_read_deflate={d['read'] / d['blocks']:.2f} "
          f"blocks_over_h5py_deflate={d['h5py'] / d['blocks']:.2f} ms_blocks_none={n['blocks']:.0f} "
          f"ms_h5py_none={n['h5py']:.0f} ms_blocks_deflate={d['blocks']:.0f} "
          f"ms_h5py_deflate={d['h5py']:.0f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
