"""map_export: contiguous exports as numpy memmaps of the file's bytes (no read, no copy), checked
by the library first and locked against HDF5's writers while any view of them lives."""
import fcntl
import gc
import subprocess
import sys

import numpy as np
import pytest

import infinite_tensor as it
from infinite_tensor import InfiniteTensor, MemoryTileStore, TensorWindow


def ramp(c):
    y, x = np.mgrid[0:16, 0:16]
    return (y * 1000 + x + c[0] * 7 + c[1] * 13).astype(np.int32)


@pytest.fixture
def tensor():
    return InfiniteTensor((None, None), ramp, TensorWindow((16, 16)), tile_store=MemoryTileStore(),
                          tensor_id="ramp", dtype=np.int32)


def others_can_lock(path):
    code = "import fcntl, sys; fcntl.flock(open(sys.argv[1], 'rb+'), fcntl.LOCK_EX | fcntl.LOCK_NB)"
    return subprocess.run([sys.executable, "-c", code, str(path)],
                           capture_output=True).returncode == 0


def test_a_contiguous_export_maps_in_place(tensor, tmp_path):
    path = tmp_path / "out.h5"
    tensor.export_hdf5(path, np.s_[-40:60, 5:77], dataset="grid", contiguous=True)
    a = it.map_export(path, "grid")
    assert isinstance(a, np.memmap) and not a.flags.writeable
    assert a.shape == (100, 72) and a.dtype == np.int32 and a.origin == (-40, 5)
    assert np.array_equal(a, tensor[-40:60, 5:77])
    # what numpy maps itself at the offset the library reports
    same = np.memmap(path, dtype="<i4", mode="r", offset=a.offset, shape=a.shape)
    assert np.array_equal(same, a)
    view = a[10:20, ::3]
    del a
    gc.collect()
    assert not others_can_lock(path)  # the view keeps the mapping and its lock
    assert view[0, 0] == tensor[-30, 5]
    del view, same
    gc.collect()
    assert others_can_lock(path)


def test_what_cannot_be_mapped_raises(tensor, tmp_path):
    path = tmp_path / "out.h5"
    tensor.export_hdf5(path, np.s_[0:32, 0:32], dataset="chunked")
    with pytest.raises(it.InvalidArgument, match="not contiguous"):
        it.map_export(path, "chunked")
    with pytest.raises(it.NotFound):
        it.map_export(path, "absent")
    with pytest.raises(it.NotFound):
        it.map_export(tmp_path / "absent.h5", "chunked")
