"""The original 0.3's API: tensors constructed directly, its store arguments, clear_cache and
clear_tensor, the batch convention with lists, blends returning their result, and
get_or_create as a deprecated way to the same tensor. (Behaviours of the original, checked
with tests of this package's own.)"""
import warnings

import numpy as np
import pytest

import infinite_tensor as it
from infinite_tensor import HDF5TileStore, InfiniteTensor, MemoryTileStore, TensorWindow


def ones(ctx):
    return np.ones((16, 16), np.float32)


def index_value(ctx):
    return np.full((16, 16), float(ctx[0] * 10 + ctx[1]), np.float32)


W16 = TensorWindow((16, 16))


def test_constructor_without_a_store_makes_one():
    t = InfiniteTensor(shape=(None, None), f=ones, output_window=W16)
    assert np.array_equal(t[0:32, -16:16], np.ones((32, 32), np.float32))
    assert isinstance(t._store, MemoryTileStore) and t.shape == (None, None)


def test_same_id_same_tensor_other_configuration_refused():
    store = MemoryTileStore()
    a = InfiniteTensor((None, None), ones, W16, tile_store=store, tensor_id="x")
    b = InfiniteTensor((None, None), ones, W16, tile_store=store, tensor_id="x")
    assert a is b
    with pytest.raises(it.ValidationError, match="dtype"):
        InfiniteTensor((None, None), ones, W16, tile_store=store, tensor_id="x",
                       dtype=np.float64)
    with pytest.warns(DeprecationWarning, match="get_or_create is deprecated"):
        c = store.get_or_create("x", (None, None), ones, W16)
    assert c is a


def test_get_or_create_legacy_keywords(tmp_path):
    store = MemoryTileStore()
    with pytest.warns(RuntimeWarning, match="cache_limit is not applied"):
        store.get_or_create("y", (None, None), ones, W16, cache_method="direct",
                            cache_limit=1 << 20)
    with HDF5TileStore(tmp_path / "s.h5") as h:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            t = h.get_or_create("z", (None, None), ones, W16, tile_size=64)
        assert h.tile_size == 64 and t.chunk_size == (64, 64)
    with pytest.raises(TypeError, match="unexpected keyword"):
        store.get_or_create("w", (None, None), ones, W16, tiles=3)


def test_store_arguments(tmp_path):
    with pytest.warns(RuntimeWarning, match="cache_size_windows is not applied"):
        MemoryTileStore(cache_size_bytes=1 << 20, cache_size_windows=100)
    with pytest.warns(DeprecationWarning, match="tile_cache_size"):
        MemoryTileStore(tile_cache_size=1 << 20)
    with pytest.raises(it.ValidationError, match="cache_size_bytes must be >= 1"):
        MemoryTileStore(cache_size_bytes=0)
    with HDF5TileStore(tmp_path / "t.h5", tile_size=(32, 48), cache_size_bytes=1 << 20) as h:
        t = InfiniteTensor((3, None, None), lambda c: np.ones((3, 16, 16), np.float32),
                           TensorWindow((3, 16, 16)), tile_store=h, tensor_id="rgb")
        assert t.chunk_size == (3, 32, 48)
        with pytest.raises(it.ValidationError, match="tile_size has 2 entries"):
            InfiniteTensor((None,), lambda c: np.ones(16, np.float32), TensorWindow((16,)),
                           tile_store=h)


def test_clear_cache_and_clear_tensor(tmp_path):
    store = MemoryTileStore()
    t = InfiniteTensor((None, None), index_value, W16, tile_store=store, tensor_id="c")
    first = t[0:32, 0:32]
    t.clear_cache()
    before = t.counters()["windows_computed"]
    assert np.array_equal(t[0:32, 0:32], first)
    assert t.counters()["windows_computed"] > before  # computed again
    with HDF5TileStore(tmp_path / "c.h5") as h:
        s = InfiniteTensor((None, None), index_value, W16, tile_store=h, tensor_id="c")
        s[0:32, 0:32]
        h.clear_cache("c")  # memory only: the stored chunks stay
        assert s.stats()["chunks"] > 0
        h.clear_tensor("c")
        assert "c" not in h.list()
        h.clear_tensor("never there")  # nothing to delete is no error


def test_batched_functions_take_lists():
    seen = []

    def batched(indices, slices):
        seen.append(len(indices))
        assert isinstance(indices, list) and isinstance(slices, list)
        return [s[1:17, 1:17] * 2 for s in slices]

    store = MemoryTileStore()
    base = InfiniteTensor((None, None), index_value, W16, tile_store=store, tensor_id="base")
    pad = TensorWindow((18, 18), stride=(16, 16), offset=(-1, -1))
    one = InfiniteTensor((None, None), lambda c, s: s[1:17, 1:17] * 2, W16, args=(base,),
                         args_windows=(pad,), tile_store=store, tensor_id="one")
    many = InfiniteTensor((None, None), batched, W16, args=(base,), args_windows=(pad,),
                          tile_store=store, tensor_id="many", batch_size=4)
    assert np.array_equal(many[0:64, 0:64], one[0:64, 0:64])
    assert max(seen) > 1 and max(seen) <= 4
    wrong = InfiniteTensor((None, None), lambda ix: ones(ix[0]), W16, tile_store=store,
                           batch_size=2)
    with pytest.raises(it.ShapeMismatchError, match="not a list of"):
        wrong[0:32, 0:32]


def test_stacked_batches_are_one_call_on_stacked_arrays():
    """stacked=True (this package's own): one call per batch with an (n, rank) index array and
    each argument stacked along a new first axis; the same values as one call per window."""
    seen = []

    def stacked(indices, slices):
        assert indices.dtype == np.int64 and indices.shape == (len(slices), 2)
        assert slices.shape[1:] == (18, 18) and not slices.flags.writeable
        seen.append(len(indices))
        return slices[:, 1:17, 1:17] * 2 + indices[:, :1, None].astype(np.float32)

    store = MemoryTileStore()
    base = InfiniteTensor((None, None), index_value, W16, tile_store=store, tensor_id="base")
    pad = TensorWindow((18, 18), stride=(16, 16), offset=(-1, -1))
    one = InfiniteTensor((None, None), lambda c, s: s[1:17, 1:17] * 2 + np.float32(c[0]), W16,
                         args=(base,), args_windows=(pad,), tile_store=store)
    many = InfiniteTensor((None, None), stacked, W16, args=(base,), args_windows=(pad,),
                          tile_store=store, batch_size=32, stacked=True)
    assert np.array_equal(many[-40:64, 0:96], one[-40:64, 0:96])
    assert max(seen) == 32 and sum(seen) == many.counters()["windows_computed"]

    kept = []
    keeper = InfiniteTensor((None, None), lambda ix, s: kept.append(s) or s[:, 1:17, 1:17],
                            W16, args=(base,), args_windows=(pad,), tile_store=store,
                            batch_size=4, stacked=True)
    with pytest.raises(RuntimeError, match="kept a reference to its argument 0"):
        keeper[0:16, 0:16]
    assert kept[0][0, 1, 1] == base[0, 0]  # what was kept keeps its values
    wrong = InfiniteTensor((None, None), lambda ix: np.ones((16, 16), np.float32), W16,
                           tile_store=store, batch_size=4, stacked=True)
    with pytest.raises(it.ShapeMismatchError, match=r"the batch has \(4, 16, 16\)"):
        wrong[0:32, 0:32]
    with pytest.raises(it.ValidationError, match="stacked must be True or False"):
        InfiniteTensor((None, None), ones, W16, tile_store=store, stacked="yes")


def test_blends_returning_their_result():
    store = MemoryTileStore()
    w = TensorWindow((16, 16), stride=(8, 8))
    biggest = InfiniteTensor((None, None), index_value, w, tile_store=store, blend=np.maximum,
                             blend_init=float("-inf"))
    smallest = InfiniteTensor((None, None), index_value, w, tile_store=store,
                              blend=lambda existing, incoming: np.minimum(existing, incoming),
                              blend_init=float("inf"))
    builtin = InfiniteTensor((None, None), index_value, w, tile_store=store, blend="max",
                             blend_init=float("-inf"))
    assert np.array_equal(biggest[0:32, 0:32], builtin[0:32, 0:32])
    # pixel (8, 8) lies in windows (0,0), (0,1), (1,0), (1,1): values 0, 1, 10, 11
    assert smallest[8, 8] == 0 and biggest[8, 8] == 11


def test_device_and_store_arguments_checked():
    with pytest.raises(it.ValidationError, match="device"):
        InfiniteTensor((None, None), ones, W16, device="cuda")
    assert InfiniteTensor((None, None), ones, W16, device="cpu")[0, 0] == 1
    with pytest.raises(it.ValidationError, match="tile_store must be a TileStore"):
        InfiniteTensor((None, None), ones, W16, tile_store="memory")


@pytest.mark.parametrize("kind", ["memory", "hdf5"])
def test_small_read_of_a_bounded_tensor_computes_few_windows(tmp_path, kind):
    """The original computes only the windows a read needs; here a read computes whole chunks,
    so bounded dimensions are chunked near the windows: one 64x64 window of a 512x512 image
    computes its 64 KiB chunk's 4 windows, not the image's 64."""
    calls = []

    def f(ctx):
        calls.append(ctx)
        return np.full((64, 64), ctx[0] * 8 + ctx[1], np.float32)

    store = MemoryTileStore() if kind == "memory" else HDF5TileStore(tmp_path / "b.h5")
    t = InfiniteTensor((512, 512), f, TensorWindow((64, 64)), tile_store=store)
    assert np.all(t[192:256, 64:128] == 3 * 8 + 1)
    assert len(calls) == 4 and t.chunk_size == (128, 128)
    whole = t[:, :]
    assert len(calls) == 64 and whole.shape == (512, 512)
    iy, ix = np.indices((512, 512)) // 64
    assert np.array_equal(whole, (iy * 8 + ix).astype(np.float32))
