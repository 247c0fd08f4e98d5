"""A lazy view of a finite region of a tensor: what numpy, dask and xarray take as an array.
Nothing is read until it is sliced or converted; each slice is one read through the library."""
import math

import numpy as np

from ._index import full_index


class TensorView:
    """The region of `tensor` whose element k along dimension d is pixel start[d] + k*step[d]
    (made by InfiniteTensor.view from an index), with the region's shape; indices are relative
    to the region (0 is its first element), as in numpy."""

    def __init__(self, tensor, start, step, shape):
        self.tensor = tensor
        self.start, self.step, self.shape = tuple(start), tuple(step), tuple(shape)
        self.dtype = tensor.dtype

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return math.prod(self.shape)

    def __len__(self):
        return self.shape[0]

    def coords(self, d):
        """The pixel coordinates of the view along dimension d."""
        return self.start[d] + self.step[d] * np.arange(self.shape[d], dtype=np.int64)

    def _absolute(self, key):
        """The tensor index of an index relative to the view."""
        key = full_index(key, self.ndim, "the view")
        out = []
        for d, k in enumerate(key):
            n, s0, st = self.shape[d], self.start[d], self.step[d]
            if isinstance(k, (int, np.integer)):
                i = int(k) + n if k < 0 else int(k)
                if not 0 <= i < n:
                    raise IndexError(f"index {int(k)} is out of range for dimension {d} of size "
                                     f"{n} of the view")
                out.append(s0 + i * st)
            elif isinstance(k, slice):
                i0, i1, ic = k.indices(n)
                if ic <= 0:
                    raise IndexError("steps must be positive")
                count = len(range(i0, i1, ic))
                first = s0 + i0 * st
                out.append(slice(first, first + (count - 1) * st * ic + 1 if count else first,
                                 st * ic))
            else:
                raise TypeError(f"index {k!r} of dimension {d} is not an integer or a slice")
        return tuple(out)

    def __getitem__(self, key):
        return self.tensor[self._absolute(key)]

    def __array__(self, dtype=None, copy=None):
        a = self[...]
        a = np.asarray(a)
        return a if dtype is None else a.astype(dtype, copy=False)

    def __repr__(self):
        return (f"TensorView({self.tensor.id!r}, start={self.start}, step={self.step}, "
                f"shape={self.shape}, dtype={self.dtype})")

    # ---- dask and xarray --------------------------------------------------------------------

    def _blocks(self):
        """Block sizes per dimension: the view cut where the tensor's chunks end."""
        chunks = []
        for d in range(self.ndim):
            n, s0, st = self.shape[d], self.start[d], self.step[d]
            size, grid = self.tensor.chunk_size[d], self.tensor.grid_offset[d]
            blocks, i = [], 0
            while i < n:
                x = s0 + i * st
                end = (x - grid) // size * size + grid + size  # the end of x's chunk
                j = max(i + 1, min(n, -(-(end - s0) // st)))
                blocks.append(j - i)
                i = j
            chunks.append(tuple(blocks) or (0,))
        return tuple(chunks)

    def to_dask(self):
        import dask.array as da
        return da.from_array(self, chunks=self._blocks(), asarray=True, fancy=False, lock=False,
                             meta=np.empty((0,) * self.ndim, self.dtype),
                             name=f"infinite-tensor-{self.tensor.id}-{self.start}-{self.step}-"
                                  f"{self.shape}")

    def to_xarray(self, dims=None):
        import xarray as xr
        n = self.ndim
        if dims is None:
            dims = [f"dim{d}" for d in range(n)]
            dims[n - 1:] = ["x"] if n >= 1 else []
            if n >= 2:
                dims[n - 2] = "y"
        dims = list(dims)
        if len(dims) != n:
            raise ValueError(f"dims has {len(dims)} names, the view {n} dimensions")
        try:
            data = self.to_dask()
        except ImportError:
            data = np.asarray(self)
        t = self.tensor
        attrs = {"tensor": t.id, "dtype": str(t.dtype), "blend": t.blend,
                 "blend_init": t.blend_init, "fn_tag": t.fn_tag,
                 "chunk_size": list(t.chunk_size), "region_start": list(self.start),
                 "region_step": list(self.step)}
        coords = {name: (name, self.coords(d), {"units": "1", "long_name": "pixel coordinate"}) for d, name in enumerate(dims)}
        return xr.DataArray(data, dims=dims, coords=coords, attrs=attrs, name=t.id)
