"""The behaviours the original's own tests check (its test_infinite_tensor.py and
test_backward_compat.py, device tests aside), each checked here by a test of this package's
own, with numpy arrays where the original uses torch tensors. Behaviours that cannot hold here
are listed in python/README.md ("The original's behaviours that differ"); where the original's
test checks one of them, the test here checks what this package does instead."""
import uuid
import warnings

import numpy as np
import pytest

import infinite_tensor as it
from infinite_tensor import HDF5TileStore, InfiniteTensor, MemoryTileStore, TensorWindow

W10 = TensorWindow((10, 512, 512))
STRIDED = TensorWindow((10, 512, 512), stride=(10, 256, 256))


def constant(value, shape=(10, 512, 512)):
    return lambda ctx: np.full(shape, value, np.float32)


@pytest.fixture
def store():
    return MemoryTileStore()


@pytest.fixture
def ones(store):
    return InfiniteTensor((10, None, None), constant(1), W10, tile_store=store,
                          tensor_id=uuid.uuid4())


# ---- basics ---------------------------------------------------------------------------------

def test_shape_slices_and_values(ones):
    assert ones.shape == (10, None, None)
    assert ones[0, 0:512, 0:512].shape == (512, 512)
    assert ones[:, -1024:1024, -1024:1024].shape == (10, 2048, 2048)
    assert ones[:5, -512:512, -512:512].shape == (5, 1024, 1024)
    assert np.all(ones[0, 0:512, 0:512] == 1)
    assert ones[0, 0:0, 0:0].shape == (0, 0)
    negative = ones[:, -100:100, -100:100]
    assert negative.shape == (10, 200, 200) and np.all(negative == 1)


@pytest.mark.parametrize("index,shape", [
    ((slice(0, 1), slice(0, 256), slice(0, 256)), (1, 256, 256)),
    ((slice(None), slice(100, 612), slice(100, 612)), (10, 512, 512)),
    ((slice(2, 8), slice(-256, 256), slice(-256, 256)), (6, 512, 512)),
])
def test_various_slices(ones, index, shape):
    assert ones[index].shape == shape


@pytest.mark.parametrize("window", [(5, 256, 256), (20, 1024, 1024), (1, 128, 128)])
def test_other_window_configurations(store, window):
    t = InfiniteTensor((window[0], None, None), constant(1, window), TensorWindow(window),
                       tile_store=store, tensor_id=uuid.uuid4())
    assert t[0, 0:window[1] // 2, 0:window[2] // 2].shape == (window[1] // 2, window[2] // 2)


def test_several_slices_of_one_tensor(ones):
    for index, shape in (((slice(0, 2), slice(0, 100), slice(0, 100)), (2, 100, 100)),
                         ((slice(2, 4), slice(100, 200), slice(100, 200)), (2, 100, 100)),
                         ((slice(None), slice(50, 150), slice(50, 150)), (10, 100, 100))):
        got = ones[index]
        assert got.shape == shape and np.all(got == 1)


# ---- tensors whose functions read other tensors ---------------------------------------------

def seeded_uniform(ctx):
    """Deterministic noise in [0, 1) per window (the original draws torch.rand)."""
    seed = abs(hash(tuple(ctx))) % (1 << 32)
    return np.random.default_rng(seed).random((10, 512, 512), dtype=np.float32)


def test_a_function_reading_another_tensor(store):
    base = InfiniteTensor((10, None, None), seeded_uniform, W10, tile_store=store)
    dep = InfiniteTensor((10, None, None), lambda ctx: base[W10.get_bounds(ctx)] * 2 - 1, W10,
                         tile_store=store)
    got = dep[:, 0:512, 0:512]
    assert got.max() > 0.99 and got.min() < -0.99 and abs(got.mean()) < 0.01


def test_ten_tensors_each_reading_the_last(store):
    dep = InfiniteTensor((10, None, None), constant(0), W10, tile_store=store)
    for _ in range(10):
        dep = InfiniteTensor((10, None, None),
                             lambda ctx, prev=dep: prev[W10.get_bounds(ctx)] + 1, W10,
                             tile_store=store)
    assert np.all(dep[:, 0:512, 0:512] == 10)


def test_reads_through_overlapping_windows_sum(store):
    zeros = InfiniteTensor((10, None, None), constant(0), W10, tile_store=store)
    dep = InfiniteTensor((10, None, None), lambda ctx: zeros[STRIDED.get_bounds(ctx)] + 1,
                         STRIDED, tile_store=store)
    assert np.all(dep[:, 0:512, 0:512] == 4)  # every pixel lies in 2 x 2 windows


# ---- bounded dimensions -----------------------------------------------------------------------

def test_windows_leaving_a_bounded_dimension_are_not_computed(store):
    calls = []

    def f(ctx):
        calls.append(tuple(ctx))
        return np.ones((7, 64), np.float32)

    window = TensorWindow((7, 64), stride=(7, 64))
    one_window_chunks = InfiniteTensor((10, None), f, window, tile_store=store,
                                       chunk_size=(10, 64))
    got = one_window_chunks[0:10, 0:64]
    assert got.shape == (10, 64) and len(calls) == 1
    assert np.all(got[:7] == 1) and np.all(got[7:] == 0)  # window 1 would leave [0, 10)
    calls.clear()
    default_chunks = InfiniteTensor((10, None), f, window, tile_store=store)
    default_chunks[0:10, 0:64]  # computes its chunk's windows, all of the first row
    assert calls and all(c[0] == 0 for c in calls)


def test_windows_starting_before_a_bounded_dimension_are_not_computed(store):
    calls = []

    def f(ctx):
        calls.append(ctx)
        return np.ones((8, 64), np.float32)

    t = InfiniteTensor((8, None), f, TensorWindow((8, 64), stride=(8, 64), offset=(-4, 0)),
                       tile_store=store)
    assert np.all(t[0:8, 0:64] == 0) and calls == []


def test_wrong_dtypes_are_named(store):
    wrong = InfiniteTensor((None, None), lambda ctx: np.ones((64, 64), np.float64),
                           TensorWindow((64, 64)), dtype=np.float32, tile_store=store)
    with pytest.raises(it.DtypeMismatchError, match="float64.*float32"):
        wrong[0:64, 0:64]
    batched = InfiniteTensor((None, None), lambda ixs: [np.ones((64, 64)) for _ in ixs],
                             TensorWindow((64, 64)), tile_store=store, batch_size=2)
    with pytest.raises(it.DtypeMismatchError, match="float64.*float32"):
        batched[0:128, 0:64]


# ---- caches -------------------------------------------------------------------------------------

W64 = TensorWindow((1, 64, 64))
CHUNK = 64 * 64 * 4


def test_a_read_larger_than_the_cache_succeeds():
    store = MemoryTileStore(cache_size_bytes=CHUNK)
    t = InfiniteTensor((1, None, None), constant(1, (1, 64, 64)), W64, tile_store=store,
                       chunk_size=(1, 64, 64))
    got = t[:, 0:256, 0:256]
    assert got.shape == (1, 256, 256) and np.all(got == 1)
    assert store.memory_bytes <= 2 * CHUNK  # bounded, whatever the read held meanwhile


def test_one_cache_serves_every_tensor_of_a_store():
    store = MemoryTileStore(cache_size_bytes=3 * CHUNK + CHUNK // 2)
    a = InfiniteTensor((1, None, None), constant(1, (1, 64, 64)), W64, tile_store=store,
                       chunk_size=(1, 64, 64))
    b = InfiniteTensor((1, None, None), constant(2, (1, 64, 64)), W64, tile_store=store,
                       chunk_size=(1, 64, 64))
    a[:, 0:64, 0:64], a[:, 64:128, 0:64], b[:, 0:64, 0:64]
    b[:, 64:128, 0:64]  # the fourth chunk: a's oldest goes
    before = a.counters()["windows_computed"], b.counters()["windows_computed"]
    b[:, 64:128, 0:64]
    a[:, 0:64, 0:64]
    assert b.counters()["windows_computed"] == before[1]      # kept
    assert a.counters()["windows_computed"] == before[0] + 1  # evicted, computed again


# ---- steps ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("step", [2, 3, 4, 5, 7])
def test_stepped_reads_across_windows_match_dense_reads(store, step):
    def unique(ctx):
        base = np.arange(25, dtype=np.float32).reshape(5, 5)
        return base + np.float32(ctx[0] * 10000 + ctx[1] * 100)

    t = InfiniteTensor((None, None), unique, TensorWindow((5, 5)), tile_store=store)
    assert np.array_equal(t[0:15:step, 0:15:step], t[0:15, 0:15][::step, ::step])


def test_stepped_read_within_one_window(store):
    t = InfiniteTensor((None, None), lambda ctx: np.arange(64, dtype=np.float32).reshape(8, 8),
                       TensorWindow((8, 8)), tile_store=store)
    assert np.array_equal(t[0:8:3, 0:8:3], np.arange(64, dtype=np.float32).reshape(8, 8)[::3, ::3])


# ---- blends --------------------------------------------------------------------------------------

def overlapping(blend=None, blend_init=None):
    """1-D windows of 4 at stride 2; window i is 10 - i everywhere."""
    return InfiniteTensor((None,), lambda ctx: np.full(4, 10.0 - ctx[0], np.float32),
                          TensorWindow((4,), stride=(2,)), blend=blend, blend_init=blend_init)


def test_blends_of_overlapping_windows():
    assert list(overlapping(np.maximum, float("-inf"))[0:8]) == [11, 11, 10, 10, 9, 9, 8, 8]
    assert list(overlapping(lambda old, new: new)[0:8]) == [10, 10, 9, 9, 8, 8, 7, 7]
    assert list(overlapping()[0:8]) == [21, 21, 19, 19, 17, 17, 15, 15]


def test_blend_init_starts_every_pixel():
    t = InfiniteTensor((None,), lambda ctx: np.ones(4, np.float32), TensorWindow((4,)),
                       blend_init=7.0)
    assert list(t[0:4]) == [8, 8, 8, 8]


@pytest.mark.parametrize("kwargs,message", [
    ({"blend": 5}, "blend must be callable"),
    ({"blend_init": True}, "blend_init must be"),
    ({"blend_init": "zero"}, "blend_init must be"),
])
def test_invalid_blend_arguments(kwargs, message):
    with pytest.raises(it.ValidationError, match=message):
        InfiniteTensor((None,), lambda ctx: np.zeros(4, np.float32), TensorWindow((4,)),
                       tensor_id=uuid.uuid4(), **kwargs)


def test_hdf5_store_blends_with_maximum(tmp_path):
    def f(ctx):
        return np.full((4, 4), 100.0 - (10 * ctx[0] + ctx[1]), np.float32)

    with HDF5TileStore(tmp_path / "blend.h5", mode="w", tile_size=8) as store:
        t = InfiniteTensor((None, None), f, TensorWindow((4, 4), stride=(2, 2)),
                           tile_store=store, tensor_id="blend_tensor", blend=np.maximum,
                           blend_init=float("-inf"))
        got = t[0:8, 0:8]
    # the largest value is the lowest window index covering the pixel: (r // 2 - 1, c // 2 - 1)
    r, c = np.indices((8, 8))
    assert np.array_equal(got, 100.0 - (10 * (r // 2 - 1) + (c // 2 - 1)))


# ---- the deprecated API ------------------------------------------------------------------------

def legacy(store, tensor_id, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = store.get_or_create(tensor_id, shape=(None, None),
                                f=lambda ctx: np.ones((64, 64), np.float32),
                                output_window=TensorWindow(size=(64, 64), stride=(64, 64)),
                                **kwargs)
    return t, caught


def test_get_or_create_warns_and_works():
    store = MemoryTileStore()
    t, caught = legacy(store, str(uuid.uuid4()), cache_method="direct", cache_limit=2 << 20,
                       batch_size=None)
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)
    assert any("cache_limit is not applied" in str(w.message) for w in caught)
    assert np.all(t[0:128, 0:128] == 1)
    legacy(store, str(uuid.uuid4()), tile_size=128)  # no tiles in a memory store: ignored
    same_id = str(uuid.uuid4())
    first, _ = legacy(store, same_id, cache_method="indirect")
    second, _ = legacy(store, same_id, cache_method="indirect")
    first[0:128, 0:128]
    assert second is first and np.all(second[0:128, 0:128] == 1)


@pytest.mark.parametrize("kind", ["memory", "hdf5"])
def test_clear_direct_caches(tmp_path, kind):
    store = MemoryTileStore() if kind == "memory" else HDF5TileStore(tmp_path / "c.h5")
    t, _ = legacy(store, "tensor_a", cache_method="direct", batch_size=None)
    assert np.all(t[0:128, 0:128] == 1)
    with pytest.warns(DeprecationWarning, match="clear_direct_caches"):
        store.clear_direct_caches()
    if kind == "memory":
        assert store.memory_bytes == 0
    assert np.all(t[0:64, 0:64] == 1)
    store.close()


def test_hdf5_legacy_store_arguments(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        HDF5TileStore(tmp_path / "legacy.h5", mode="w", tile_cache_size=50).close()
    said = {(w.category, str(w.message).split(";")[0]) for w in caught}
    assert (DeprecationWarning, "tile_cache_size is deprecated") in said
    assert (RuntimeWarning, "HDF5TileStore: cache_size_tiles is not applied") in said
    store = HDF5TileStore(tmp_path / "tiles.h5", mode="w", tile_size=64)
    legacy(store, "tile_size_override", tile_size=128)
    assert store.tile_size == 128
    store.close()
