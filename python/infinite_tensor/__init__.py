"""infinite_tensor: tensors with unbounded dimensions, computed window by window by Python
functions on the infinite-tensor C engine (threads for blending, codecs and HDF5 I/O; one
sparse HDF5 data set per tensor; crash-safe stores; exports and previews).

    import numpy as np
    from infinite_tensor import MemoryTileStore, TensorWindow

    store = MemoryTileStore()
    t = store.get_or_create("ones", (None, None),
                            lambda ctx: np.ones((512, 512), np.float32), TensorWindow((512, 512)))
    t[0:1024, -512:512]

See python/README.md for how this maps to the original Python library."""
from ._lib import ffi, lib, text
from .codecs import codecs
from .errors import (CallbackError, Canceled, Cycle, DeviceMismatchError, DtypeMismatchError, Error,
                     Exists, FormatError, InfiniteTensorError, InvalidArgument, Mismatch,
                     NotComputed, NotFound, OutOfRange, ShapeMismatchError, StorageError,
                     ValidationError)
from .store import (Context, HDF5TileStore, MemoryTileStore, TileStore, WeightProfile,
                    compact, default_context, new_id, writer_progress)
from .mapped import map_export
from .tensor import InfiniteTensor
from .window import TensorWindow

__version__ = text(lib.it_version_string())

__all__ = ["TensorWindow", "MemoryTileStore", "HDF5TileStore", "TileStore", "InfiniteTensor",
           "Context", "default_context", "WeightProfile", "new_id", "Error", "InvalidArgument",
           "OutOfRange", "Mismatch", "NotComputed", "NotFound", "Exists", "FormatError",
           "StorageError", "Canceled", "CallbackError", "Cycle", "InfiniteTensorError", "ValidationError",
           "ShapeMismatchError", "DtypeMismatchError", "DeviceMismatchError", "codecs", "writer_progress", "compact", "map_export",
           "ffi", "lib"]
