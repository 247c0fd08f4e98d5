"""Reading an HDF5 store while a writer in another process fills it: a read-only store opens
while the writer works, each read sees one completed commit (every chunk whole or missing,
never gone once seen), the same handles follow the writer's commits, and writer_progress names
the running fill."""
import os
import subprocess
import sys
import textwrap
import time

import numpy as np

import infinite_tensor as it

W = 32
WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    import infinite_tensor as it

    def f(ctx):
        time.sleep(0.002)
        return np.full((32, 32), ctx[0] * 100 + ctx[1] + 1, np.float32)

    s = it.HDF5TileStore(sys.argv[1], mode="w", context=it.Context(threads=2))
    t = it.InfiniteTensor((None, None), f, it.TensorWindow((32, 32)), tile_store=s,
                          tensor_id="t", chunk_size=(32, 32))
    s.flush()
    print("ready", flush=True)
    for row in range(12):
        t.fill((slice(row * 32, row * 32 + 32), slice(0, 12 * 32)))
        s.flush()
    s.close()
""")


def expected():
    y, x = np.indices((12, 12))
    return np.kron(y * 100 + x + 1, np.ones((W, W))).astype(np.float32)


def test_reading_while_another_process_writes(tmp_path):
    path = str(tmp_path / "live.h5")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(it.__file__)))
    writer = subprocess.Popen([sys.executable, "-c", WRITER, path], stdout=subprocess.PIPE,
                              env=env, text=True)
    assert writer.stdout.readline().strip() == "ready"
    want = expected()
    seen = np.zeros((12, 12), bool)
    reads = commits = running = 0
    last = -1
    with it.HDF5TileStore(path, mode="r") as store:  # while the writer has the file
        t = store.open("t", fill_missing=True)
        while writer.poll() is None:
            got = t[0:12 * W, 0:12 * W].reshape(12, W, 12, W).swapaxes(1, 2)
            whole = (got == want.reshape(12, W, 12, W).swapaxes(1, 2)).all(axis=(2, 3))
            none = (got == 0).all(axis=(2, 3))
            assert (whole | none).all(), "a chunk half there"
            assert not (seen & none).any(), "a chunk seen before is gone"
            seen |= whole
            reads += 1
            commits += int(whole.sum()) != last
            last = int(whole.sum())
            progress = it.writer_progress(path)
            if progress is not None:
                assert progress["id"] == "t" and progress["done"] <= progress["total"] == 12
                assert progress["pid"] == writer.pid
                running += 1
            time.sleep(0.005)
        assert writer.wait() == 0
        assert np.array_equal(t[0:12 * W, 0:12 * W], want)  # the last commit, same handle
    assert reads > 3 and commits > 1 and running > 0
    assert it.writer_progress(path) is None
