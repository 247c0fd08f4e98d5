"""Tensors as arrays: scalars from integer indices, shape/dtype/ndim/len, np.asarray, a lazy
view of a finite region, dask and xarray of a region against plain reads."""
import numpy as np
import pytest

from infinite_tensor import InfiniteTensor, MemoryTileStore, TensorWindow


def ramp(ctx):
    y0, x0 = ctx[0] * 8, ctx[1] * 8
    y, x = np.mgrid[y0:y0 + 8, x0:x0 + 8]
    return (y * 1000 + x).astype(np.float32)


@pytest.fixture
def t():
    return InfiniteTensor((None, None), ramp, TensorWindow((8, 8)), chunk_size=16,
                          tile_store=MemoryTileStore())


def test_scalars_and_properties(t):
    v = t[3, -5]
    assert isinstance(v, np.float32) and v == 3 * 1000 - 5
    assert t.ndim == 2 and t.shape == (None, None) and t.dtype == np.float32
    with pytest.raises(TypeError, match="first dimension is infinite"):
        len(t)
    with pytest.raises(ValueError, match=r"infinite dimensions \[0, 1\]"):
        np.asarray(t)
    finite = InfiniteTensor((3, 16), lambda c: np.full((3, 16), c[1], np.int16),
                            TensorWindow((3, 16)), dtype=np.int16)
    assert len(finite) == 3 and finite.ndim == 2
    assert np.array_equal(np.asarray(finite), np.zeros((3, 16), np.int16))
    assert np.asarray(finite, dtype=np.float64).dtype == np.float64


def test_view_is_lazy_and_relative(t):
    v = t.view((slice(-20, 20, 3), slice(5, 41)))
    assert v.shape == (14, 36) and v.ndim == 2 and len(v) == 14 and v.dtype == np.float32
    assert t.counters()["windows_computed"] == 0  # nothing read yet
    whole = np.asarray(v)
    assert np.array_equal(whole, t[-20:20:3, 5:41])
    for key in [(slice(None), slice(None, None, 2)), (2, slice(-7, None)), (slice(3, 9, 4), 0),
                (-1, -1), Ellipsis]:
        assert np.array_equal(np.asarray(v[key]), whole[key]), key
    with pytest.raises(IndexError):
        v[14, 0]


def test_dask_blocks_follow_the_chunks():
    da = pytest.importorskip("dask.array")
    import dask
    t = InfiniteTensor((None, None), ramp, TensorWindow((8, 8)), chunk_size=16)
    d = t.to_dask((slice(-20, 30), slice(4, 40, 2)))
    assert d.shape == (50, 18) and d.dtype == np.float32
    assert d.chunks == ((4, 16, 16, 14), (6, 8, 4))  # cut where the tensor's chunks end
    with dask.config.set(scheduler="threads"):
        got = d.compute()
    assert np.array_equal(got, t[-20:30, 4:40:2])
    assert float((d * 2).sum().compute()) == float(2 * t[-20:30, 4:40:2].astype(np.float64).sum())
    assert isinstance(da.Array, type)


def test_xarray_coordinates_and_attributes():
    xr = pytest.importorskip("xarray")
    t = InfiniteTensor((None, None), ramp, TensorWindow((8, 8)), tensor_id="ramp")
    a = t.to_xarray((slice(-4, 4), slice(10, 20, 5)))
    assert isinstance(a, xr.DataArray) and a.dims == ("y", "x") and a.name == "ramp"
    assert list(a.coords["y"].values) == list(range(-4, 4))
    assert list(a.coords["x"].values) == [10, 15]
    assert a.attrs["tensor"] == "ramp" and a.attrs["blend"] == "sum"
    assert np.array_equal(a.values, t[-4:4, 10:20:5])
    assert float(a.sel(y=-3, x=15)) == -3 * 1000 + 15
