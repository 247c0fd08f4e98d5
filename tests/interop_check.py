"""Reads stores written by interop_write with plain h5py (normal HDF5 filters, and the standard
filter plugins for lz4 and zstd) and checks every stored value, the metadata attributes and the
fill value of absent chunks. A file whose plugin HDF5 cannot load is skipped with a message."""
import hashlib
import sys

import h5py
import numpy as np

A = np.array([7, 13, 29, 31, 37, 41, 43, 47])
B = np.array([3, 5, 11, 17, 19, 23, 53, 59])


def text(v):
    """A string attribute: format-2 stores hold fixed-length strings, which h5py reads as bytes."""
    return v.decode() if isinstance(v, bytes) else str(v)


def golden(window, pos):
    """Value of element `pos` of window `window` (golden formula)."""
    s = int(np.dot(A[: len(window)], window) + np.dot(B[: len(pos)], pos))
    return (s % 97) - 48


def check_direct(f, tid, win, dtype, wrap):
    g = f["tensors"][tid]
    data = g["data"]
    origin = g.attrs["origin"]
    chunk = g.attrs["chunk"]
    assert data.dtype == np.dtype(dtype), (tid, data.dtype)
    assert list(data.chunks) == list(chunk), (tid, data.chunks, chunk)
    assert text(g.attrs["dtype"]) in ("f32", "i16", "u8"), g.attrs["dtype"]
    rows = g["chunks"][:]
    assert len(rows) > 0, tid
    checked = 0
    for c in rows:
        start = [int(c[d] * chunk[d] + g.attrs["grid_offset"][d]) for d in range(len(c))]
        idx = tuple(slice(start[d] - origin[d], start[d] - origin[d] + chunk[d]) for d in range(len(c)))
        block = data[idx]
        for pos in np.ndindex(*block.shape):
            pix = [start[d] + pos[d] for d in range(len(c))]
            w = [p // win[d] for d, p in enumerate(pix)]
            p = [pix[d] - w[d] * win[d] for d in range(len(c))]
            want = wrap(golden(w, p))
            assert block[pos] == want, (tid, pix, block[pos], want)
            checked += 1
    return checked


def weighted_reference(weights, floor, size=6, stride=2, region=24):
    """The weighted blend of golden windows over [0, region)^2, recomputed with numpy: every
    window covering the region in lexicographic order, float64 sums of weight * value and of
    weight, divided, rounded to float32."""
    acc = np.zeros((region, region))
    wsum = np.zeros((region, region))
    w = np.maximum(weights, floor)
    first = -((size - 1) // stride)
    last = (region - 1) // stride
    for wy in range(first, last + 1):
        for wx in range(first, last + 1):
            vals = np.array([[golden([wy, wx], [y, x]) for x in range(size)] for y in range(size)],
                            dtype=np.float32).astype(np.float64)
            for y in range(size):
                for x in range(size):
                    py, px = wy * stride + y, wx * stride + x
                    if 0 <= py < region and 0 <= px < region:
                        acc[py, px] += w[y, x] * vals[y, x]
                        wsum[py, px] += w[y, x]
    return (acc / wsum).astype(np.float32)


def tent(size, border):
    x = np.arange(size) + 0.5
    return np.minimum(1.0, np.minimum(x / border, (size - x) / border))


def check_feathered(f):
    """Both weighted tensors: their recorded profiles, the array's digest as hashlib computes it,
    and every value of [0, 24)^2 against numpy."""
    t, a = f["tensors/feather_tent"], f["tensors/feather_array"]
    assert text(t.attrs["blend"]) == "weighted" and text(t.attrs["weight_profile"]) == "tent"
    assert list(t.attrs["weight_border"]) == [4, 4], t.attrs["weight_border"]
    assert text(t.attrs["weight_array_sha256"]) == ""
    array = np.outer(np.arange(1, 7), np.arange(1, 7)) / 36.0
    assert text(a.attrs["weight_profile"]) == "array" and a.attrs["weight_floor"].item() == 0.05
    digest = hashlib.sha256(array.astype("<f8").tobytes()).hexdigest()
    assert text(a.attrs["weight_array_sha256"]) == digest, (a.attrs["weight_array_sha256"], digest)
    profile = np.outer(tent(6, 4), tent(6, 4))
    for g, weights, floor in ((t, profile, 0.0), (a, array, 0.05)):
        o = g.attrs["origin"]
        got = g["data"][0 - o[0] : 24 - o[0], 0 - o[1] : 24 - o[1]]
        want = weighted_reference(weights, floor)
        assert np.array_equal(got, want), (np.abs(got - want).max())
    return 2 * 24 * 24


PLUGIN_FILTERS = {32004: "lz4 (Debian: hdf5-filter-plugin)",
                  32001: "Blosc (Debian: hdf5-filter-plugin-blosc-serial)"}


def missing_plugin(f):
    """The filter plugin the file's data need and HDF5 cannot load, or None."""
    dcpl = f["tensors/g2/data"].id.get_create_plist()
    for i in range(dcpl.get_nfilters()):
        fid = dcpl.get_filter(i)[0]
        if fid in PLUGIN_FILTERS and not h5py.h5z.filter_avail(fid):
            return PLUGIN_FILTERS[fid]
    return None


def main():
    for path in sys.argv[1:]:
        with h5py.File(path, "r") as f:
            plugin = missing_plugin(f)
            if plugin:
                print(f"{path}: SKIPPED, HDF5 cannot load the {plugin} filter plugin")
                continue
            assert text(f.attrs["format"]) == "infinite-tensor", dict(f.attrs)
            assert f.attrs["format_version"].item() == 3
            assert sorted(f["tensors"].keys()) == ["feather_array", "feather_tent", "g2", "i16", "u8"]
            g2 = f["tensors/g2"]
            assert list(g2.attrs["args"]) in ([b""], [""]), g2.attrs["args"]  # FORMAT.md: [""]
            for tid in ("g2", "i16", "u8"):  # what viewers see on the data set itself
                d, g = f["tensors"][tid]["data"], f["tensors"][tid]
                assert list(d.attrs["origin"]) == list(g.attrs["origin"]), tid
                assert [dim.label for dim in d.dims] == [f"dim{k}" for k in range(d.ndim)], tid
                text_ = text(d.attrs["description"])
                assert f'"{tid}"' in text_ and str(list(g.attrs["origin"])[0]) in text_, text_
            assert list(g2.attrs["shape"]) == [-1, -1]
            assert list(g2.attrs["window_size"]) == [8, 8]
            assert text(g2.attrs["fn_tag"]) == "golden"
            assert text(g2.attrs["blend"]) == "sum"
            n = check_direct(f, "g2", [8, 8], "float32", float)
            n += check_direct(f, "i16", [3, 5], "int16", int)
            n += check_feathered(f)
            u8 = f["tensors/u8"]
            assert text(u8.attrs["blend"]) == "max" and u8.attrs["blend_init"].item() == 7.0
            assert u8["data"].fillvalue == 7
            o = u8.attrs["origin"]
            far = u8["data"][1000 - o[0] : 1004 - o[0], 1000 - o[1] : 1004 - o[1]]
            assert (far == 7).all(), far
            near = u8["data"][0 - o[0] : 24 - o[0], 0 - o[1] : 24 - o[1]]
            assert near.shape == (24, 24)
            filters = list(u8["data"]._filters)
            print(f"{path}: {n} values checked, filters={filters}, u8 fill value ok")


if __name__ == "__main__":
    main()
