"""The view every viewer opens (io/FORMAT.md, "Group view"): /tensors/<id>/view/data, a virtual
dataset over the computed part of a tensor with dimension scales of pixel coordinates, opened
by other programs as users open it: h5py (also while the writer works, without file locks),
xarray through both of its netCDF engines, silx's data viewer (offscreen Qt) and h5topng.
Each viewer runs in its own process. tools/test.sh installs every one of them and
tests/python.sh requires them; elsewhere a missing viewer skips its test."""
import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from infinite_tensor import HDF5TileStore, InfiniteTensor, TensorWindow

REQUIRED = os.environ.get("INFINITE_TENSOR_REQUIRE_VIEWERS") == "1"


def need(what, present):
    if not present:
        if REQUIRED:
            pytest.fail(f"{what} is missing (tools/test.sh installs it)")
        pytest.skip(f"{what} is not installed")


def has_module(name):
    return subprocess.run([sys.executable, "-c", f"import {name}"],
                          capture_output=True).returncode == 0


def run_python(code, *args, env=None, timeout=120):
    """Runs code in a fresh interpreter (another program); returns its standard output."""
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
                       capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, **(env or {})})
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


def wave(c):
    """64x64 windows of distinct values; window (1, 1) is all blend_init's value, 0."""
    y, x = np.mgrid[0:64, 0:64].astype(np.float32)
    if tuple(c) == (1, 1):
        return np.zeros((64, 64), np.float32)
    return np.sin(y / 7 + c[0]) + np.cos(x / 5 - c[1]) + 3


W64 = TensorWindow((64, 64))


@pytest.fixture
def stored(tmp_path):
    """A store whose tensor "t" has two computed areas with never-computed chunks between them
    (chunks of 128x128), closed; returns its path and the view's expected start and values."""
    path = tmp_path / "store.h5"
    with HDF5TileStore(path) as s:
        t = InfiniteTensor((None, None), wave, W64, tile_store=s, tensor_id="t")
        t[-100:10, 0:100]
        t[300:310, 400:410]
    with HDF5TileStore(path, mode="r") as s:  # the library's own reading, missing as fill
        t = s.open("t", fill_missing=True)
        start = (-128, 0)
        want = t[-128:384, 0:512]
    return path, start, want


H5PY_READ = """
    import json, sys, h5py, numpy as np
    with h5py.File(sys.argv[1], "r", locking=False) as f:
        v = f["tensors/t/view/data"]
        np.save(sys.argv[2], v[()])
        scales = [f["tensors/t/view"][f"dim{d}"] for d in range(v.ndim)]
        print(json.dumps({"start": [int(x) for x in v.attrs["start"]],
                          "fill": float(v.attrs["_FillValue"]),
                          "long_name": v.attrs["long_name"].decode(), "virtual": v.is_virtual,
                          "labels": [d.label for d in v.dims],
                          "scales": [[int(s[0]), int(s[-1])] for s in scales],
                          "attached": [d[0].name for d in v.dims]}))
"""


def test_h5py_reads_the_view(stored, tmp_path):
    path, start, want = stored
    out = json.loads(run_python(H5PY_READ, path, tmp_path / "got.npy"))
    assert np.array_equal(np.load(tmp_path / "got.npy"), want)
    assert out == {"start": list(start), "fill": 0.0, "long_name": "t", "virtual": True,
                   "labels": ["dim0", "dim1"],
                   "scales": [[start[d], start[d] + want.shape[d] - 1] for d in range(2)],
                   "attached": ["/tensors/t/view/dim0", "/tensors/t/view/dim1"]}


def test_view_follows_a_writer(tmp_path):
    """While the writer keeps the store open, each commit's view is what another program
    reads (with h5py's file locks off: the writer's lock keeps locking readers out)."""
    path = tmp_path / "store.h5"
    with HDF5TileStore(path) as s:
        t = InfiniteTensor((None, None), wave, W64, tile_store=s, tensor_id="t")
        for (y, x), start in (((slice(0, 10), slice(0, 10)), (0, 0)),
                              ((slice(200, 210), slice(-300, -290)), (0, -384)),
                              ((slice(-5, 0), slice(500, 510)), (-128, -384))):
            t[y, x]
            out = json.loads(run_python(H5PY_READ, path, tmp_path / "got.npy"))
            got = np.load(tmp_path / "got.npy")
            assert out["start"] == list(start)
            # what this commit computed is there (reading the whole box would compute it)
            part = got[y.start - start[0]:y.stop - start[0], x.start - start[1]:x.stop - start[1]]
            assert np.array_equal(part, t[y, x])


def test_xarray_sees_coordinates(stored):
    path, start, want = stored
    for engine, module in (("h5netcdf", "h5netcdf"), ("netcdf4", "netCDF4")):
        need(f"xarray's {engine} engine", has_module("xarray") and has_module(module))
        out = run_python("""
            import sys, xarray as xr, numpy as np
            ds = xr.open_dataset(sys.argv[1], group="tensors/t/view", engine=sys.argv[2],
                                 mask_and_scale=False)
            a = ds["data"]
            print(a.dims, a.shape, int(a.dim0[0]), int(a.dim1[0]), int(a.dim0[-1]))
            print(float(a.sel(dim0=-100, dim1=5)), float(a.sel(dim0=305, dim1=401)))
            masked = xr.open_dataset(sys.argv[1], group="tensors/t/view", engine=sys.argv[2])
            print(int(np.isnan(masked["data"].values).sum()))
        """, path, engine)
        dims, values, nans = out.splitlines()
        assert dims == (f"('dim0', 'dim1') {want.shape} {start[0]} {start[1]} "
                        f"{start[0] + want.shape[0] - 1}")
        assert values == f"{want[-100 - start[0], 5 - start[1]]} {want[305 - start[0], 401 - start[1]]}"
        # _FillValue: CF readers mask blend_init's value, computed or not
        assert int(nans) == int((want == 0).sum()) > 0


def test_silx_viewer_shows_the_view(stored):
    """silx's data viewer, as `silx view` shows a dataset: the tensor's data set is too big
    for it (numpy's "array is too big"), its view is an image of the computed values."""
    path, start, want = stored
    need("silx (python3-silx)", has_module("silx"))
    out = run_python("""
        import sys, numpy as np, silx.io
        from silx.gui import qt
        from silx.gui.data import DataViews
        from silx.gui.data.DataViewer import DataViewer
        from silx.gui.plot import Plot2D
        app = qt.QApplication([])
        f = silx.io.open(sys.argv[1])
        for name in ("tensors/t/view/data", "tensors/t/data"):
            viewer = DataViewer()
            try:
                viewer.setData(f[name])
                viewer.setDisplayMode(DataViews.IMAGE_MODE)
                app.processEvents()
                images = [p.getActiveImage() for p in viewer.findChildren(Plot2D)]
                a = [i.getData(copy=False) for i in images if i is not None][0]
                np.save(sys.argv[2], a)
                print(name, "image", a.shape)
            except Exception as e:
                print(name, "failed", type(e).__name__, str(e).split(";")[0])
    """, path, path.parent / "silx.npy",
        env={"QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(path.parent)}, timeout=300)
    lines = [l for l in out.splitlines() if l.startswith("tensors/")]
    assert lines[0] == f"tensors/t/view/data image {want.shape}"
    assert lines[1] == "tensors/t/data failed ValueError array is too big"
    assert np.array_equal(np.load(path.parent / "silx.npy"), want)


def test_h5topng_renders_the_view(stored, tmp_path):
    path, start, want = stored
    need("h5topng (h5utils)", shutil.which("h5topng") is not None)
    png = tmp_path / "view.png"
    subprocess.run(["h5topng", "-d", "tensors/t/view/data", "-o", str(png), str(path)],
                   check=True, timeout=60)
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    # h5topng puts the first dimension along x
    assert (int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")) == want.shape
