"""Opens an export written by export_write with h5py and xarray (no extra arguments) and checks
values, coordinates and attributes; then the exports of each codec (with the filter plugins:
a codec whose plugin HDF5 cannot load is skipped with a message)."""
import sys

import h5py
import numpy as np
import xarray as xr

A = np.array([7, 13, 29, 31, 37, 41, 43, 47])
B = np.array([3, 5, 11, 17, 19, 23, 53, 59])


def golden(y, x):
    wy, wx, py, px = y // 8, x // 8, y % 8, x % 8
    return ((A[0] * wy + A[1] * wx + B[0] * py + B[1] * px) % 97) - 48


PLUGINS = {"lz4": (32004, "hdf5-filter-plugin"), "zstd": (32001, "hdf5-filter-plugin-blosc-serial")}


def check_codecs(path, want):
    with h5py.File(path, "r") as f:
        for name in sorted(k for k in f.keys() if k.startswith("elevation_")):
            codec = name.split("_", 1)[1]
            fid, package = PLUGINS.get(codec, (None, None))
            if fid and not h5py.h5z.filter_avail(fid):
                print(f"h5py: {name} SKIPPED, HDF5 cannot load filter {fid} (Debian: {package})")
                continue
            assert (f[name][:] == want).all(), name
            print(f"h5py: {name} read back equal, filters {list(f[name]._filters)}")


def main(path, codecs=None):
    ys = np.arange(-24, 40)
    xs = np.arange(-50, 30, 2)
    want = golden(ys[:, None], xs[None, :]).astype(np.float32)
    # before xarray: netCDF-C 4.10 (Debian unstable) replaces HDF5's plugin path with its own
    # default when it loads, unless HDF5_PLUGIN_PATH is set, and h5py then misses the plugins
    if codecs:
        check_codecs(codecs, want)
    with h5py.File(path, "r") as f:
        for name in ("elevation", "elevation_contiguous"):
            d = f[name]
            assert d.shape == (64, 40), d.shape
            assert (d[:] == want).all(), name
            assert list(d.attrs["origin"]) == [-24, -50]
            assert d.attrs["source_tensor"] == "field"
        assert f["elevation"].compression == "gzip"
        assert (f["y"][:] == ys).all() and (f["x"][:] == xs).all()
        assert f["images/rgb"].shape == (3, 16, 16)
        gy, gx = np.arange(-13, 21, 3), np.arange(-30, 9)
        values = golden(gy[:, None], gx[None, :])
        kinds = {"f": "float", "i": "int", "u": "uint"}
        names = ["f32", "f64", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64"]
        for name in names:
            d = f["dtypes"][name]
            assert d.dtype == np.dtype(kinds[name[0]] + name[1:]), (name, d.dtype)
            assert (d[:] == values.astype(d.dtype)).all(), name
        print(f"h5py: {len(names)} dtypes exported and read back equal")
    ds = xr.open_dataset(path, engine="netcdf4")
    v = ds["elevation"]
    assert v.dims == ("y", "x"), v.dims
    assert (v.coords["y"].values == ys).all() and (v.coords["x"].values == xs).all()
    assert (v.values == want).all()
    assert float(v.sel(y=-24, x=-50)) == want[0, 0]
    print(f"xarray: {path}: elevation{v.dims} {v.shape}, coordinates y[{ys[0]}..{ys[-1]}] "
          f"x[{xs[0]}..{xs[-1]}] step 2, values equal")
    g = xr.open_dataset(path, engine="netcdf4", group="images")
    assert g["rgb"].dims == ("band", "row", "col"), g["rgb"].dims
    assert (g["row"].values == np.arange(-8, 8)).all()
    print(f"xarray: group images: rgb{g['rgb'].dims}")
    with h5py.File(path, "r") as f:
        partial = "partial" in f  # files of 0.2 (tests/data/hdf5) have none
    if partial:
        check_partial(path)


def check_partial(path):
    """Never-computed chunks are missing values to CF readers; CF labels are read."""
    ys = np.arange(-8, 24)
    computed = (ys[:, None] >= 0) & (ys[:, None] < 16) & (ys[None, :] >= 0) & (ys[None, :] < 16)
    want = golden(ys[:, None], ys[None, :])
    ds = xr.open_dataset(path, engine="netcdf4")
    assert ds.attrs["Conventions"] == "CF-1.8", ds.attrs
    for name in ("partial", "partial_i16"):
        v = ds[name]
        assert v.dims == ("lat", "lon"), v.dims
        assert v.attrs["units"] == "m" and v.attrs["long_name"] == "height above sea level"
        assert ds["lat"].attrs["axis"] == "Y" and ds["lon"].attrs["axis"] == "X"
        assert ds["lon"].attrs["units"] == "1", ds["lon"].attrs
        missing = int(v.isnull().sum())
        assert missing == int((~computed).sum()) == 768, (name, missing)
        assert (v.values[computed] == want[computed]).all(), name
        assert v.attrs["never_computed_pixels"] == 768, v.attrs
        print(f"xarray: {name}: {missing} of {v.size} values missing where never computed, "
              f"units {v.attrs['units']}, axes Y/X")
    with h5py.File(path, "r") as f:
        d = f["partial_i16"]
        assert d.attrs["_FillValue"] == -32768 and d.dtype == np.int16
        assert (d[:][~computed] == -32768).all()


if __name__ == "__main__":
    main(*sys.argv[1:3])
