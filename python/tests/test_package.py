"""What the package adds over the original: Python exceptions out of the library with their
tracebacks, checked window results, the HDF5 store (persistence, read-only access, listing,
deletion), exports and previews, the weighted blend and Python blends, and errors carrying the
library's messages."""
import traceback

import numpy as np
import pytest

import infinite_tensor as it
from infinite_tensor import HDF5TileStore, MemoryTileStore, TensorWindow, WeightProfile


def ramp(ctx):
    y0, x0 = ctx[0] * 8, ctx[1] * 8
    y, x = np.mgrid[y0:y0 + 8, x0:x0 + 8]
    return (y * 100 + x).astype(np.float32)


W8 = TensorWindow((8, 8))


class Boom(Exception):
    pass


def test_exceptions_propagate_with_traceback(store):
    def failing(ctx):
        if ctx == (1, 2):
            raise Boom(f"window {ctx} failed")
        return ramp(ctx)

    t = store.get_or_create("failing", (None, None), failing, W8, chunk_size=8)
    with pytest.raises(Boom, match=r"window \(1, 2\) failed") as e:
        t[0:32, 0:32]
    frames = [f.name for f in traceback.extract_tb(e.value.__traceback__)]
    assert "failing" in frames  # the raising frame of the window function
    assert any("infinite_tensor" in n for n in getattr(e.value, "__notes__", []))
    assert t.stats()["chunks"] < 16  # the failed chunk is not stored
    assert np.array_equal(t[0:8, 0:8], ramp((0, 0)))  # other windows still work


def test_wrong_results_are_clear_errors(store):
    shapes = store.get_or_create("shapes", (None, None), lambda ctx: np.zeros((8, 9), np.float32),
                                 W8)
    # the read computes its chunk's windows on two threads: either may report first
    with pytest.raises(it.ShapeMismatchError,
                       match=r'tensor "shapes", window \(\d+, \d+\).*shape \(8, 9\)'):
        shapes[0:8, 0:8]
    types = store.get_or_create("types", (None, None), lambda ctx: np.zeros((8, 8)), W8)
    with pytest.raises(it.DtypeMismatchError, match="dtype float64, the tensor has float32"):
        types[0:8, 0:8]
    lists = store.get_or_create("lists", (None, None), lambda ctx: [[0] * 8] * 8, W8)
    with pytest.raises(it.DtypeMismatchError, match="returned list, not an array"):
        lists[0:8, 0:8]
    assert shapes.stats()["chunks"] == types.stats()["chunks"] == 0
    # the original's names are subclasses of the package's own
    assert issubclass(it.ShapeMismatchError, it.InvalidArgument)
    assert issubclass(it.ValidationError, it.InvalidArgument) and it.InfiniteTensorError is it.Error


class HostArray:
    """An array-like that is not a numpy array (as a torch CPU tensor is): __array__ only."""

    def __init__(self, a):
        self.a = a

    def __array__(self, dtype=None, copy=None):
        return self.a


class DeviceArray:
    """An array-like on a device numpy cannot read."""

    device = "cuda:0"


def test_window_functions_return_array_likes(store):
    like = store.get_or_create("like", (None, None), lambda ctx: HostArray(ramp(ctx)), W8)
    assert np.array_equal(like[0:8, 8:16], ramp((0, 1)))
    buffer = store.get_or_create("buffer", (None, None), lambda ctx: memoryview(ramp(ctx)), W8)
    assert np.array_equal(buffer[0:8, 0:8], ramp((0, 0)))  # the buffer protocol
    gpu = store.get_or_create("gpu", (None, None), lambda ctx: DeviceArray(), W8)
    with pytest.raises(it.DeviceMismatchError, match="cuda:0"):
        gpu[0:8, 0:8]


def test_library_errors(store):
    with pytest.raises(it.InvalidArgument, match="size"):
        store.get_or_create("bad", (None, None), ramp, TensorWindow((0, 8)))
    with pytest.raises(it.InvalidArgument, match="rank"):
        store.get_or_create("bad", (None, None, None), ramp, W8)
    with pytest.raises(it.InvalidArgument, match="blend"):
        store.get_or_create("bad", (None, None), ramp, W8, blend="median")
    with pytest.raises(ValueError, match="dtype"):
        store.get_or_create("bad", (None, None), ramp, W8, dtype=np.complex64)
    with pytest.raises(ValueError, match="native byte order"):
        store.get_or_create("bad", (None, None), ramp, W8, dtype=">f4")
    t = store.get_or_create("ok", (None, None), ramp, W8)
    with pytest.raises(it.Error) as e:
        t.export_hdf5("/nonexistent-dir/x.h5", (slice(0, 8), slice(0, 8)))
    assert e.value.code < 0 and e.value.name.startswith("IT_E")


def test_weighted_blend(store):
    """Feathered tiles: a constant field stays constant whatever the profile."""
    w = TensorWindow((16, 16), stride=(8, 8))
    ones = lambda ctx: np.ones((16, 16), np.float32)  # noqa: E731
    for weight in ("tent", "hann", WeightProfile("gaussian", floor=0.01),
                   WeightProfile("array", array=np.outer(np.arange(1, 17), np.arange(1, 17)))):
        name = weight if isinstance(weight, str) else weight.kind
        t = store.get_or_create(f"feather-{name}", (None, None), ones, w, blend="weighted",
                                weight=weight)
        np.testing.assert_allclose(t[-20:20, 0:30], 1, rtol=1e-6)
    with pytest.raises(it.InvalidArgument, match="weight"):
        store.get_or_create("x", (None, None), ones, w, blend="sum", weight="tent")


def test_python_blend(store):
    def keep_larger(acc, incoming, count):
        np.maximum(acc, incoming, out=acc)

    w = TensorWindow((8, 8), stride=(4, 4))
    t = store.get_or_create("pyblend", (None, None), lambda ctx: ramp(ctx) + ctx[1], w,
                            blend=keep_larger, blend_init=-1e9)
    m = store.get_or_create("maxblend", (None, None), lambda ctx: ramp(ctx) + ctx[1], w,
                            blend="max", blend_init=-1e9)
    assert np.array_equal(t[0:16, 0:16], m[0:16, 0:16])

    def failing_blend(acc, incoming, count):
        if (count > 0).any():
            raise Boom("blend failed")
        acc[...] = incoming

    f = store.get_or_create("badblend", (None, None), ramp, w, blend=failing_blend)
    with pytest.raises(Boom, match="blend failed"):
        f[0:16, 0:16]
    assert f.stats()["chunks"] == 0


def test_hdf5_store(tmp_path, ctx):
    path = tmp_path / "tiles.h5"
    calls = []

    def counted(c):
        calls.append(c)
        return ramp(c)

    with HDF5TileStore(path, mode="w", context=ctx) as s:
        t = s.get_or_create("ramp", (None, None), counted, W8, chunk_size=16, fn_tag="v1")
        first = t[-16:16, -16:16]
        assert s.list() == ["ramp"]
    n = len(calls)
    with HDF5TileStore(path, context=ctx) as s:  # reconnects: nothing computed again
        t = s.get_or_create("ramp", (None, None), counted, W8, chunk_size=16, fn_tag="v1")
        assert np.array_equal(t[-16:16, -16:16], first) and len(calls) == n
        assert t.counters()["windows_computed"] == 0
        assert s.get_or_create("ramp", (None, None), counted, W8, chunk_size=16,
                               fn_tag="v1") is t
    with HDF5TileStore(path, mode="r", context=ctx) as s:  # read-only, without the function
        r = s.open("ramp")
        lay = r.layout()  # where h5py finds the values
        h5py = pytest.importorskip("h5py")
        with h5py.File(path, "r") as f:
            o = lay["origin"]
            raw = f[lay["data_path"]][-16 - o[0]:16 - o[0], -16 - o[1]:16 - o[1]]
        assert np.array_equal(raw, first) and lay["compression"] == "deflate"
        assert lay["checksum"]  # h5py checked each chunk's Fletcher-32 reading it
        assert not r.has_function
        assert np.array_equal(r[-16:16, -16:16], first)
        with pytest.raises(it.NotComputed):
            r[100:108, 0:8]
        assert (s.open("ramp", fill_missing=False) is r)
    with HDF5TileStore(path, context=ctx) as s:
        with pytest.raises(it.Mismatch, match="is stored with fn_tag"):
            s.get_or_create("ramp", (None, None), counted, W8, chunk_size=16, fn_tag="v2")
        s.delete("ramp")
        assert "ramp" not in s.list()


def test_checksums_can_be_left_out(tmp_path):
    for checksum in (True, False):
        with HDF5TileStore(tmp_path / f"{checksum}.h5", mode="w", checksum=checksum) as s:
            t = s.get_or_create("ramp", (None, None), ramp, W8)
            t[0:8, 0:8]
            assert t.layout()["checksum"] is checksum


def test_exports_and_previews(tmp_path, store):
    h5py = pytest.importorskip("h5py")
    t = store.get_or_create("ramp", (None, None), ramp, W8)
    shape = t.export_hdf5(tmp_path / "out.h5", (slice(-8, 24), slice(0, 16, 2)), dataset="r",
                          dim_names=("row", "col"), units="m")
    assert shape == (32, 8)
    with h5py.File(tmp_path / "out.h5", "r") as f:
        assert np.array_equal(f["r"][...], t[-8:24, 0:16:2])
        assert list(f["row"][...][:2]) == [-8, -7]
        assert f["r"].attrs["units"] == "m" and f["row"].attrs["units"] == "1"
        assert f.attrs["Conventions"] == "CF-1.8"
    with pytest.raises(it.Exists, match="overwrite=True"):
        t.export_hdf5(tmp_path / "out.h5", (slice(0, 8), slice(0, 8)), dataset="r")
    # a rerun: the same export succeeds without writing; another is refused
    stamp = (tmp_path / "out.h5").stat().st_mtime_ns
    assert t.export_hdf5(tmp_path / "out.h5", (slice(-8, 24), slice(0, 16, 2)), dataset="r",
                         overwrite="if-identical") == (32, 8)
    assert (tmp_path / "out.h5").stat().st_mtime_ns == stamp
    with pytest.raises(it.Exists, match="another region"):
        t.export_hdf5(tmp_path / "out.h5", (slice(-7, 25), slice(0, 16, 2)), dataset="r",
                      overwrite="if-identical")
    with pytest.raises(ValueError, match="overwrite"):
        t.export_hdf5(tmp_path / "out.h5", (slice(0, 8), slice(0, 8)), overwrite="always")
    t.export_hdf5(tmp_path / "out.h5", (slice(0, 8), slice(0, 8)), dataset="labelled",
                  coord_units="km", long_name="a ramp", fill_value=-1)
    with h5py.File(tmp_path / "out.h5", "r") as f:
        d = f["labelled"]
        assert d.attrs["long_name"] == "a ramp" and d.attrs["_FillValue"] == -1
        assert f[d.dims[0][0].name].attrs["units"] == "km"
    t.preview_png(tmp_path / "p.png", (slice(0, 64), slice(0, 64)), colormap="viridis",
                  colorbar=True)
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_fresh_ids(store):
    a = store.get_or_create(None, (None, None), ramp, W8)
    b = store.get_or_create(None, (None, None), ramp, W8)
    assert a is not b and a.id != b.id and len(a.id) == 36


def test_closed_and_released(store, ctx):
    t = store.get_or_create("ramp", (None, None), ramp, W8)
    t.release()
    with pytest.raises(ValueError, match="released"):
        t[0:8, 0:8]
    s = MemoryTileStore(context=ctx)
    u = s.get_or_create("ramp", (None, None), ramp, W8)
    s.close()
    with pytest.raises(ValueError, match="closed|released"):
        u[0:8, 0:8]
    with pytest.raises(ValueError, match="closed"):
        s.get_or_create("ramp", (None, None), ramp, W8)


def test_arguments_outlive_consumers(store):
    a = store.get_or_create("a", (None, None), ramp, W8)
    b = store.get_or_create("b", (None, None), lambda c, x: x * 2, W8, args=(a,),
                            args_windows=(W8,))
    with pytest.raises(ValueError, match="argument of"):
        a.release()
    a.mark_for_cleanup()  # deferred: b still reads a
    assert not a.released
    assert np.array_equal(b[0:8, 0:8], 2 * ramp((0, 0)))
    b.release()
    assert a.released  # released with its last consumer


def test_concurrent_readers_get_their_own_errors(store):
    """Two Python threads read at once: each gets its own result or its own exception."""
    import threading

    def bad(ctx):
        if ctx[0] == 3:
            raise Boom(f"bad window {ctx}")
        return ramp(ctx)

    good = store.get_or_create("good", (None, None), ramp, W8, chunk_size=8)
    failing = store.get_or_create("failing", (None, None), bad, W8, chunk_size=8)
    results = {}

    def read(name, t):
        try:
            for k in range(20):
                results.setdefault(name, []).append(t[k * 8:k * 8 + 64, 0:64].sum())
                t.clear_cache()
        except Exception as e:  # noqa: BLE001 (the test inspects it)
            results[name] = e

    threads = [threading.Thread(target=read, args=("good", good)),
               threading.Thread(target=read, args=("failing", failing))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert isinstance(results["failing"], Boom) and "bad window (3," in str(results["failing"])
    want = []
    for k in range(20):
        y, x = np.mgrid[k * 8:k * 8 + 64, 0:64]
        want.append((y * 100 + x).astype(np.float32).sum())
    assert results["good"] == want


def test_progress_and_cancel():
    seen = []
    ctx = it.Context(threads=2, memory_budget=1 << 20,
                     progress=lambda done, total: seen.append((done, total)))
    s = MemoryTileStore(context=ctx)
    t = s.get_or_create("ramp", (None, None), ramp, W8, chunk_size=64)
    t[0:512, 0:512]
    assert seen[0][0] == 0 and seen[-1][0] == seen[-1][1] == 64  # 64 chunks, to the end
    ctx.progress = lambda done, total: done >= 8  # cancel once 8 chunks are final
    with pytest.raises(it.Canceled):
        t[0:512, 512:1024]
    assert 8 <= t.stats()["chunks"] - 64 < 64  # what was final stays stored

    def boom(done, total):
        raise Boom("stop here")

    ctx.progress = boom
    with pytest.raises(Boom, match="stop here"):
        t[1024:1100, 0:8]
    ctx.progress = None
    assert t[1024:1100, 0:8].shape == (76, 8)
    s.close()


def test_kept_argument_views_are_refused(store):
    """A function keeping its argument (or a view of it) past the call would read memory the
    library reuses: refused with a clear error; copies are fine."""
    kept = []
    src = store.get_or_create("src", (None, None), ramp, W8)
    keeps = store.get_or_create("keeps", (None, None), lambda c, x: kept.append(x[::2]) or x,
                                W8, args=(src,), args_windows=(W8,))
    with pytest.raises(RuntimeError, match="kept a reference to its argument 0"):
        keeps[0:8, 0:8]
    kept.clear()
    copies = store.get_or_create("copies", (None, None),
                                 lambda c, x: kept.append(np.copy(x)) or x * 1, W8,
                                 args=(src,), args_windows=(W8,), chunk_size=8)
    assert np.array_equal(copies[0:16, 0:16], src[0:16, 0:16]) and len(kept) == 4


def test_every_codec_of_the_table_stores_and_reads(tmp_path):
    codecs = it.codecs()
    assert {"deflate", "none"} <= set(codecs) and codecs["deflate"]["available"]
    assert codecs["none"]["levels"] is None and codecs["deflate"]["hdf5_filter"] == 1
    first = None
    for name, codec in codecs.items():
        path = tmp_path / f"{name}.h5"
        if not codec["available"]:
            with pytest.raises(it.InvalidArgument, match=codec["package"]):
                HDF5TileStore(path, compression=name)
            continue
        level = codec["levels"][1] if codec["levels"] else 0
        with HDF5TileStore(path, compression=name, level=level) as s:
            t = s.get_or_create("ramp", (None, None), ramp, W8, chunk_size=16)
            values = t[-16:16, -16:16]
            lay = t.layout()
            assert lay["compression"] == name and lay["level"] == level
        first = values if first is None else first
        assert np.array_equal(values, first)
        with HDF5TileStore(path, mode="r") as s:
            assert np.array_equal(s.open("ramp")[-16:16, -16:16], first)
    with pytest.raises(it.InvalidArgument, match="deflate, lz4, zstd or none"):
        HDF5TileStore(tmp_path / "x.h5", compression="gzip")


@pytest.mark.parametrize("kwargs, names", [
    ({"blend_init": True}, "blend_init must be a real number"),
    ({"blend_init": "zero"}, "blend_init must be a real number"),
    ({"batch_size": 0}, "batch_size must be >= 1"),
    ({"batch_size": 2.5}, "batch_size must be an integer"),
    ({"shape": (None, -4)}, r"shape\[1\] must be >= 1"),
    ({"shape": ()}, "shape must have at least one dimension"),
    ({"chunk_size": 0}, "chunk_size must be >= 1"),
    ({"chunk_size": (16,)}, "chunk_size has 1 entries, the shape 2"),
    ({"f": None}, "f must be callable"),
    ({"dtype": "complex64"}, "dtype <c8 is not one of the library's"),
    ({"dtype": object()}, "is not a numpy dtype"),
    ({"args": (np.zeros(3),), "args_windows": (W8,)}, r"args\[0\] must be an InfiniteTensor"),
    ({"output_window": (8, 8)}, "output_window must be a TensorWindow"),
])
def test_arguments_are_validated_by_name(store, kwargs, names):
    call = {"id": "v", "shape": (None, None), "f": ramp, "output_window": W8}
    call.update(kwargs)
    with pytest.raises(it.ValidationError, match=names):
        store.get_or_create(**call)
    assert store.list() == []


def test_viridis_is_matplotlibs(tmp_path, store):
    """Previews through viridis show the colours matplotlib renders, entry for entry."""
    mpl = pytest.importorskip("matplotlib")
    image = pytest.importorskip("PIL.Image")
    t = store.get_or_create("ramp", (None, None), ramp, W8)
    t.preview_png(tmp_path / "v.png", (slice(0, 1), slice(0, 256)), colormap="viridis")
    got = np.asarray(image.open(tmp_path / "v.png").convert("RGB"))[0]
    want = mpl.colormaps["viridis"](np.arange(256), bytes=True)[:, :3]
    assert np.array_equal(got, want)


def test_compact(tmp_path, ctx):
    """compact() gives back the space of a deleted tensor; the rest reads the same."""
    path = tmp_path / "tiles.h5"
    with HDF5TileStore(path, mode="w", context=ctx, compression="none") as s:
        s.get_or_create("gone", (None, None), ramp, W8)[0:256, 0:256]
        kept = s.get_or_create("kept", (None, None), ramp, W8)[0:64, 0:64]
        s.delete("gone")
    got = it.compact(path, context=ctx)
    assert got["tensors"] == 1 and got["bytes_after"] + 200_000 < got["bytes_before"]
    assert path.stat().st_size == got["bytes_after"]
    with HDF5TileStore(path, mode="r", context=ctx) as s:
        assert np.array_equal(s.open("kept")[0:64, 0:64], kept)
    with HDF5TileStore(path, context=ctx):
        with pytest.raises(it.StorageError):  # a writer has it: refused, nothing changed
            it.compact(path, context=ctx)
    with pytest.raises(it.NotFound):
        it.compact(tmp_path / "none.h5")
