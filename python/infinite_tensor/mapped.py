"""Contiguous exports (and other contiguous numeric HDF5 datasets) as memory-mapped arrays."""
import os

import numpy as np

from ._callbacks import DTYPES
from ._lib import ffi, lib
from .errors import check


def map_export(path, dataset="data"):
    """Dataset `dataset` of the HDF5 file `path` as a read-only `numpy.memmap` over the
    library's mapping of the file's bytes, without reading them: a contiguous export (`export_hdf5(..., contiguous=True)`), or
    any contiguous, unfiltered dataset of a little-endian integer or float type. The library
    checks the file first (through its own checking driver: the data must lie inside the file)
    and keeps a shared lock on it while the array or any view of it lives, so HDF5's writers
    cannot shrink the file under the mapping. The array's `origin` attribute holds the pixel
    coordinate of index 0 (an export's origin), `offset` the data's byte offset in the file."""
    out = ffi.new("it_mapped_array **")
    check(lib.it_export_map(os.fsencode(path), str(dataset).encode(), out))
    handle = ffi.gc(out[0], lib.it_export_unmap)
    m = handle[0]
    shape = tuple(m.shape[d] for d in range(m.rank))
    dtype = DTYPES[m.dtype].newbyteorder("<")
    # The library's own mapping (read-only pages: so is the buffer, or a write would fault), of
    # the file it checked and locked: np.memmap(path) would open the path again, and could map
    # another file renamed there since.
    data = memoryview(ffi.buffer(m.data, m.bytes)).toreadonly() if m.bytes else b""
    array = np.frombuffer(data, dtype).reshape(shape).view(np.memmap)
    array.origin = tuple(m.origin[d] for d in range(m.rank))
    array.offset = m.offset
    array._lock = handle  # the mapping and its lock live as long as the array and its views
    return array
