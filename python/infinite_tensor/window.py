"""TensorWindow: how a tensor is tiled by calls of its function (include/infinite_tensor/
window.h). Window index w covers, along dimension d,
    [w[map[d]] * stride[d] + offset[d], ... + size[d]),
with `None` in dimension_map for a fixed dimension covering [0, 1) (size 1, offset 0)."""
from ._lib import IT_MAP_FIXED, ffi


def _tuple(v, n, what, default):
    if v is None:
        return tuple(default)
    if isinstance(v, int):  # as the original: one value for every dimension
        return (v,) * n
    v = tuple(v)
    if len(v) != n:
        raise ValueError(f"TensorWindow: {what} has {len(v)} entries, size has {n}")
    return v


class TensorWindow:
    """A window: size per dimension, stride (default = size), offset (default 0) and the
    dimension map (default identity; None entries are fixed dimensions)."""

    def __init__(self, size, stride=None, offset=None, dimension_map=None):
        self.size = tuple(int(s) for s in size)
        n = len(self.size)
        if not 1 <= n <= 8:
            raise ValueError(f"TensorWindow: rank must be 1..8 (got {n})")
        self.stride = tuple(int(s) for s in _tuple(stride, n, "stride", self.size))
        self.offset = tuple(int(o) for o in _tuple(offset, n, "offset", (0,) * n))
        dm = _tuple(dimension_map, n, "dimension_map", range(n))
        self.dimension_map = tuple(None if m is None else int(m) for m in dm)

    @property
    def rank(self):
        return len(self.size)

    def to_c(self):
        """The it_window of this window (a new cffi struct)."""
        w = ffi.new("it_window *")
        w.rank = self.rank
        for d in range(self.rank):
            w.size[d] = self.size[d]
            w.stride[d] = self.stride[d]
            w.offset[d] = self.offset[d]
            m = self.dimension_map[d]
            w.map[d] = IT_MAP_FIXED if m is None else m
        return w

    def get_bounds(self, window, map_slices=True):
        """The pixel region of window index `window` (one int or slice per window-index
        dimension; a slice covers those windows) as a tuple of slices, one per dimension, as the
        original: `t[w.get_bounds(index)]` reads a window's region. map_slices=False takes
        `window` already in this window's dimension order (one entry per dimension)."""
        window = tuple(window)
        out = []
        for d in range(self.rank):
            m = self.dimension_map[d] if map_slices else d
            w = slice(0, 1) if m is None else window[m]
            if not isinstance(w, slice):
                w = slice(int(w), int(w) + 1)
            start = None if w.start is None else w.start * self.stride[d] + self.offset[d]
            stop = None if w.stop is None else \
                (w.stop - 1) * self.stride[d] + self.size[d] + self.offset[d]
            out.append(slice(start, stop))
        return tuple(out)

    def __eq__(self, other):
        return isinstance(other, TensorWindow) and (
            self.size, self.stride, self.offset, self.dimension_map) == (
            other.size, other.stride, other.offset, other.dimension_map)

    def __hash__(self):
        return hash((self.size, self.stride, self.offset, self.dimension_map))

    def __repr__(self):
        return (f"TensorWindow({self.size}, stride={self.stride}, offset={self.offset}, "
                f"dimension_map={self.dimension_map})")
