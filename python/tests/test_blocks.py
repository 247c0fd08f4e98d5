"""t.blocks(region): the stored chunks of a region as read-only numpy views in the store's
memory, block by block; together they are the region; a view kept past its block (or past
the iteration) keeps its values."""
import gc

import numpy as np
import pytest

import infinite_tensor as it
from infinite_tensor import HDF5TileStore, InfiniteTensor, MemoryTileStore, TensorWindow


def ramp(ctx):
    y, x = np.indices((16, 16))
    return ((ctx[0] * 16 + y) * 1000 + ctx[1] * 16 + x).astype(np.float32)


@pytest.mark.parametrize("kind", ["memory", "hdf5"])
def test_blocks_are_the_region(tmp_path, kind):
    store = MemoryTileStore() if kind == "memory" else HDF5TileStore(
        tmp_path / "b.h5", cache_size_bytes=64 << 10)
    t = InfiniteTensor((None, None), ramp, TensorWindow((16, 16)), tile_store=store,
                       chunk_size=(32, 32))
    region = (slice(-21, 70), slice(5, 99))
    got = np.zeros((91, 94), np.float32)
    kept = []
    n = 0
    for start, view in t.blocks(region, budget=8 << 10):
        assert not view.flags.writeable
        y, x = start[0] + 21, start[1] - 5
        got[y:y + view.shape[0], x:x + view.shape[1]] = view
        if n % 5 == 0:
            kept.append((start, view[:3, :3]))  # a view of a view, kept past its block
        n += 1
    assert np.array_equal(got, t[region]) and n == 4 * 4
    gc.collect()
    for start, v in kept:  # still the chunk's values, after the walk and the cache moved on
        y, x = np.indices(v.shape)
        assert np.array_equal(v, ((start[0] + y) * 1000 + start[1] + x).astype(np.float32))
    store.close()  # waits for nothing: the views are still alive, the store closes with them
    del kept, v, view
    gc.collect()


def test_blocks_refuse_steps_and_stop_early():
    t = InfiniteTensor((None, None), ramp, TensorWindow((16, 16)))
    with pytest.raises(it.InvalidArgument, match="steps must be 1"):
        next(t.blocks((slice(0, 64, 2), slice(0, 64))))
    gen = t.blocks((slice(0, 256), slice(0, 256)), budget=8 << 10)
    start, view = next(gen)
    gen.close()  # the walk stops; the view stays valid
    assert view[0, 0] == start[0] * 1000 + start[1]
