"""The original library's behaviours, tested anew against this package: slicing shapes and
values, negative indexing, stepped reads across window boundaries, bounded dimensions
filtering windows, max blend with -inf, last-window-wins blend, multiple and strided
dependencies, re-registration, cache limits evicting and recomputing."""
import threading

import numpy as np
import pytest

import infinite_tensor as it
from infinite_tensor import MemoryTileStore, TensorWindow


def value(y, x):
    """The field every test tensor samples: distinct at every pixel, exact in float32."""
    return (y * 1000 + x).astype(np.float32)


class Counting:
    """f over (inf, inf) windows of `size` stepping `stride`: the field at the window's pixels
    (offset by the window's index when `mark`), counting calls and calling threads."""

    def __init__(self, size, stride=None, offset=(0, 0), mark=False):
        self.size, self.stride = size, stride or size
        self.offset, self.mark = offset, mark
        self.calls, self.windows, self.threads = 0, [], set()
        self.lock = threading.Lock()

    def __call__(self, ctx):
        with self.lock:
            self.calls += 1
            self.windows.append(ctx)
            self.threads.add(threading.get_ident())
        y0 = ctx[0] * self.stride[0] + self.offset[0]
        x0 = ctx[1] * self.stride[1] + self.offset[1]
        y, x = np.mgrid[y0:y0 + self.size[0], x0:x0 + self.size[1]]
        v = value(y, x)
        return v + np.float32(ctx[0] * 7 + ctx[1]) if self.mark else v


def field_tensor(store, tid="field", size=(16, 16), stride=None, **kw):
    f = Counting(size, stride)
    w = TensorWindow(size, stride=stride)
    return store.get_or_create(tid, (None, None), f, w, **kw), f


def test_slicing_shapes_and_values(store):
    t, _ = field_tensor(store)
    for key, shape in [((slice(0, 10), slice(0, 10)), (10, 10)),
                       ((slice(5, 37), slice(-3, 20)), (32, 23)),
                       ((3, slice(0, 16)), (16,)), ((slice(0, 16), -4), (16,)),
                       ((7, 9), ()), ((slice(10, 10), slice(0, 5)), (0, 5)),
                       ((slice(0, 2), Ellipsis), None)]:
        if shape is None:
            with pytest.raises(IndexError, match="infinite"):
                t[key]
            continue
        got = t[key]
        assert got.shape == shape, key
        y = np.arange(key[0].start, key[0].stop) if isinstance(key[0], slice) else key[0]
        x = np.arange(key[1].start, key[1].stop) if isinstance(key[1], slice) else key[1]
        want = value(*np.meshgrid(y, x, indexing="ij")) if got.ndim == 2 else None
        if want is not None:
            assert np.array_equal(got, want), key
    assert t[7, 9] == value(np.array(7), np.array(9))


def test_negative_indexing(store):
    t, _ = field_tensor(store)
    got = t[-40:-20, -5:5]
    y, x = np.mgrid[-40:-20, -5:5]
    assert np.array_equal(got, value(y, x))  # infinite dimensions: coordinates, not from the end
    finite = store.get_or_create("finite", (None, 10), Counting((4, 10), (4, 10)),
                                 TensorWindow((4, 10)))
    assert np.array_equal(finite[0:4, -1], finite[0:4, 9])  # finite: from the end
    assert np.array_equal(finite[0:4, -3:], finite[0:4, 7:10])
    with pytest.raises(IndexError):
        finite[0:4, 10]


def test_stepped_reads_across_window_boundaries(store):
    t, _ = field_tensor(store, size=(16, 16))
    got = t[-30:50:7, 3:61:5]
    y, x = np.meshgrid(np.arange(-30, 50, 7), np.arange(3, 61, 5), indexing="ij")
    assert np.array_equal(got, value(y, x))
    with pytest.raises(IndexError, match="positive"):
        t[0:10:-1, 0:10]


def test_bounded_dimensions_filter_windows(store):
    """Windows that would leave a finite dimension are never computed."""
    f = Counting((4, 4), (2, 2))
    t = store.get_or_create("bounded", (10, None), f, TensorWindow((4, 4), stride=(2, 2)))
    t[:, 0:8]
    rows = sorted({w[0] for w in f.windows})
    assert rows == [0, 1, 2, 3]  # windows 0..3 cover [0, 10) exactly; 4 would leave it
    with pytest.raises(IndexError):
        t[10, 0:4]


def test_max_blend_with_minus_infinity(store):
    f = Counting((8, 8), (4, 4), mark=True)
    t = store.get_or_create("max", (None, None), f, TensorWindow((8, 8), stride=(4, 4)),
                            blend="max", blend_init=-np.inf)
    got = t[0:8, 0:8]
    # pixel (5, 5) is covered by windows (0,0), (0,1), (1,0), (1,1): the largest mark wins
    assert got[5, 5] == value(np.array(5), np.array(5)) + 7 + 1
    uncovered = store.get_or_create("gaps", (None, None), Counting((2, 2), (4, 4)),
                                    TensorWindow((2, 2), stride=(4, 4)), blend="max",
                                    blend_init=-np.inf)
    assert uncovered[2, 2] == -np.inf


def test_last_window_wins(store):
    f = Counting((8, 8), (4, 4), mark=True)
    t = store.get_or_create("replace", (None, None), f, TensorWindow((8, 8), stride=(4, 4)),
                            blend="replace")
    got = t[0:8, 0:8]
    assert got[5, 5] == value(np.array(5), np.array(5)) + 7 + 1  # window (1, 1) is last
    assert got[5, 2] == value(np.array(5), np.array(2)) + 7      # (1, 0) is last there


def test_multiple_dependencies(store):
    a, _ = field_tensor(store, "a")
    b = store.get_or_create("b", (None, None), lambda ctx: np.full((16, 16), 2, np.float32),
                            TensorWindow((16, 16)))
    w = TensorWindow((16, 16))
    c = store.get_or_create("c", (None, None), lambda ctx, x, y: x * y, w, args=(a, b),
                            args_windows=(w, w))
    assert np.array_equal(c[-8:24, 0:16], 2 * a[-8:24, 0:16])
    assert c.arg_ids == ("a", "b")


def test_strided_dependencies(store):
    """A 2x downsampling: each output window of 8 reads 16 upstream pixels (stride 16)."""
    a, _ = field_tensor(store, "fine")
    down = store.get_or_create("coarse", (None, None), lambda ctx, x: x[::2, ::2].copy(),
                               TensorWindow((8, 8)), args=(a,),
                               args_windows=(TensorWindow((16, 16), stride=(16, 16)),))
    assert np.array_equal(down[0:24, -8:16], a[0:48:2, -16:32:2])


def test_re_registration(store):
    t, f = field_tensor(store, "again")
    t[0:16, 0:16]
    u = store.get_or_create("again", (None, None), Counting((16, 16)), TensorWindow((16, 16)))
    assert u is t  # the working tensor, its first function kept
    with pytest.raises(it.Mismatch, match="window_size"):
        store.get_or_create("again", (None, None), f, TensorWindow((8, 8)))
    with pytest.raises(it.Mismatch, match="dtype"):
        store.get_or_create("again", (None, None), f, TensorWindow((16, 16)), dtype=np.float64)
    with pytest.raises(it.Mismatch, match="shape"):
        store.get_or_create("again", (None, 64), f, TensorWindow((16, 16)))


def test_cache_limits_evict_and_recompute(ctx):
    store = MemoryTileStore(cache_bytes=64 << 10, context=ctx)  # four 16 KiB chunks
    t, f = field_tensor(store, size=(64, 64), chunk_size=64)  # window = chunk: no window cache
    first = t[0:256, 0:256]
    calls = f.calls
    assert store.memory_bytes <= 64 << 10
    again = t[0:256, 0:256]
    assert f.calls > calls  # evicted chunks were computed again...
    assert np.array_equal(first, again)  # ...to the same values
    store.close()


def test_callbacks_run_on_worker_threads(store):
    t, f = field_tensor(store, size=(32, 32))
    t[0:512, 0:512]
    assert f.calls == 256
    assert len(f.threads) >= 2  # the library's threads, not only the reading one
