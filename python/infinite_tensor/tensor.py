"""InfiniteTensor: a tensor of a tile store, sliced like a numpy array."""
import math
import weakref

import numpy as np

from . import _callbacks
from ._lib import IT_INF, ffi, lib, text
from ._lifetime import Guard
from .errors import ValidationError, check
from ._index import full_index
from .window import TensorWindow

_COLORMAPS = {"gray": lib.IT_COLORMAP_GRAY, "grey": lib.IT_COLORMAP_GRAY,
              "viridis": lib.IT_COLORMAP_VIRIDIS, "terrain": lib.IT_COLORMAP_TERRAIN}


def _window_from_c(w):
    rank = w.rank
    return TensorWindow(tuple(w.size[d] for d in range(rank)),
                        stride=tuple(w.stride[d] for d in range(rank)),
                        offset=tuple(w.offset[d] for d in range(rank)),
                        dimension_map=tuple(None if w.map[d] < 0 else w.map[d]
                                            for d in range(rank)))


_WRAP = object()  # marks the package's own construction of a tensor around a handle
_STORES = {}  # "base": TileStore, "memory": MemoryTileStore (store.py, which imports this module)


class InfiniteTensor:
    """A tensor of a tile store, made as in the original 0.3:

        InfiniteTensor(shape, f, output_window, args=None, args_windows=None, chunk_size=None,
                       dtype=np.float32, tile_store=None, tensor_id=None, blend=None,
                       blend_init=None, batch_size=None, device=None)

    Without tile_store, a fresh MemoryTileStore holds it. A tensor_id open in the store with
    the same configuration gives that tensor (the same object); a stored one (HDF5) is
    reconnected after every recorded field is compared (ValidationError otherwise). blend: None
    (sum), a name ("max", "mean", ...), or a callable: the original's blend(existing, incoming)
    -> combined, or blend(acc, incoming, count) updating acc in place. blend_init: None (0) or
    a real number. batch_size: None or 1 calls f(index, *slices) per window; N > 1 calls
    f(indices, *slice_lists) with lists of up to N and takes back a list. device: None or
    "cpu" (arrays live in host memory here). Also: weight, fn_tag, serial, transient
    (TileStore.get_or_create, deprecated, makes the same tensor). `TileStore.open` gives a
    stored tensor without its function.

    `t[0:1024, -512:512]` computes what the region needs and returns a numpy array: infinite
    dimensions take any coordinates (negative ones are coordinates, not counted from an end)
    and need both start and stop; finite dimensions follow Python's rules (`:`, negative
    indices from the end); steps must be positive; an integer index drops its dimension."""

    def __new__(cls, shape=None, f=None, output_window=None, args=None, args_windows=None,
                chunk_size=None, dtype=np.float32, tile_store=None, tensor_id=None, blend=None,
                blend_init=None, batch_size=None, device=None, **more):
        if shape is _WRAP:
            return super().__new__(cls)
        if device is not None and str(getattr(device, "type", device)) != "cpu":
            raise ValidationError(f"device must be None or \"cpu\" (arrays live in host memory "
                                  f"here), got {device!r}")
        store = _STORES["memory"]() if tile_store is None else tile_store
        if not isinstance(store, _STORES["base"]):
            raise ValidationError(f"tile_store must be a TileStore, got {type(store).__name__}")
        return store._construct(tensor_id, shape, f, output_window, args=args or (),
                                args_windows=args_windows or (), chunk_size=chunk_size,
                                dtype=dtype, blend=blend,
                                blend_init=0.0 if blend_init is None else blend_init,
                                batch_size=1 if batch_size is None else batch_size, **more)

    def __init__(self, *args, **kwargs):
        """Nothing: __new__ made the tensor, or found the open one."""

    @classmethod
    def _wrap(cls, store, handle, key, args):
        t = cls.__new__(cls, _WRAP)
        t._setup(store, handle, key, args)
        return t

    def _setup(self, store, handle, key, args):
        self._store = store
        self._handle = handle
        self._key = key
        self._args = tuple(args)
        self._consumers = weakref.WeakSet()
        self._cleanup = False
        self._guard = Guard(self._free, parent=store._guard)
        for a in self._args:
            a._consumers.add(self)
        info = ffi.new("it_tensor_info *")
        check(lib.it_tensor_get_info(handle, info))
        self.id = text(info.id)
        self.shape = tuple(None if info.shape[d] == IT_INF else info.shape[d]
                           for d in range(info.rank))
        self.dtype = _callbacks.DTYPES[info.dtype]
        self.window = _window_from_c(info.window)
        self.chunk_size = tuple(info.chunk[d] for d in range(info.rank))
        self.grid_offset = tuple(info.grid_offset[d] for d in range(info.rank))
        self.blend = text(lib.it_blend_name(info.blend))
        self.blend_init = info.blend_init
        self.fn_tag = text(info.fn_tag)
        self.has_function = bool(info.has_fn)
        self.arg_ids = tuple(text(info.arg_ids[i]) for i in range(info.n_arg_ids))

    # ---- lifetime ----------------------------------------------------------------------------

    @property
    def released(self):
        return self._guard.closed

    def _free(self):
        """The library's handle goes (no call uses it any more), unless the store's close frees
        it (a store closed first, also by the garbage collector, which may finalise a store
        before its tensors without telling them)."""
        if not self._store._guard.closed:
            lib.it_tensor_release(self._handle)
        self._forget_key()

    def _forget_key(self):
        if self._key:
            _callbacks.unregister(self._key)

    def _store_closed(self):
        """The store closes, and frees the handle itself once no call uses the store: the
        callbacks stay registered until the calls using this tensor return."""
        self._guard.close(f'tensor "{self.id}": its store is closed', instead=self._forget_key)

    def release(self):
        """Releases the library's handle (a memory store drops the tensor's chunks; an HDF5 store
        keeps them): at once, or when the calls using it from other threads (or the read whose
        window function releases it) return; later calls raise ValueError. Tensors reading this
        one must be released first."""
        if self._guard.closed:
            return
        live = [c for c in self._consumers if not c.released]
        if live:
            raise ValueError(f'tensor "{self.id}" is an argument of "{live[0].id}", which is '
                             "still open: release it first")
        if not self._guard.close(f'tensor "{self.id}" was released'):
            return
        self._store._forget(self)
        for a in self._args:
            a._consumers.discard(self)
            if a._cleanup and not any(not c.released for c in a._consumers):
                a.release()

    def mark_for_cleanup(self):
        """This tensor is no longer needed: its cached chunks are dropped now, and its handle is
        released as soon as no open tensor reads it (at once when none does)."""
        if self._guard.closed:
            return
        self._cleanup = True
        try:
            with self._guard:
                lib.it_tensor_clear_cache(self._handle)
        except ValueError:  # its store closed meanwhile
            return
        if not any(not c.released for c in self._consumers):
            self.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.mark_for_cleanup()
        return False

    def __del__(self):
        try:  # no call can be using it: each holds a reference
            self._guard.close("released")
        except Exception:  # interpreter shutdown: modules may be gone
            pass

    # ---- regions -----------------------------------------------------------------------------

    def _region(self, key, squeeze_ints=True):
        """The it_region of a numpy-style index, the output shape and the dimensions that an
        integer index drops."""
        key = full_index(key, len(self.shape), f'tensor "{self.id}"')
        r = ffi.new("it_region *")
        lib.it_region_init(r, len(self.shape))
        shape, dropped = [], []
        for d, (k, n) in enumerate(zip(key, self.shape)):
            if isinstance(k, (int, np.integer)):
                i = int(k)
                if n is not None:
                    i = i + n if i < 0 else i
                    if not 0 <= i < n:
                        raise IndexError(f'tensor "{self.id}": index {int(k)} is out of range '
                                         f"for dimension {d} of size {n}")
                start, stop, step = i, i + 1, 1
                if squeeze_ints:
                    dropped.append(d)
            elif isinstance(k, slice):
                step = 1 if k.step is None else int(k.step)
                if step <= 0:
                    raise IndexError(f'tensor "{self.id}": steps must be positive (dimension {d})')
                if n is None:
                    if k.start is None or k.stop is None:
                        raise IndexError(f'tensor "{self.id}": dimension {d} is infinite: give '
                                         "a start and a stop")
                    start, stop = int(k.start), int(k.stop)
                else:
                    start, stop, _ = slice(k.start, k.stop, step).indices(n)
                stop = max(stop, start)
            else:
                raise TypeError(f'tensor "{self.id}": index {k!r} of dimension {d} is not an '
                                "integer or a slice")
            r.start[d], r.stop[d], r.step[d] = start, stop, step
            shape.append(math.ceil((stop - start) / step))
        return r, tuple(shape), dropped

    def __getitem__(self, key):
        r, shape, dropped = self._region(key)
        out = np.empty(shape, dtype=self.dtype)
        buf = ffi.from_buffer(out) if out.nbytes else ffi.NULL
        with self._guard:
            code = lib.it_tensor_read(self._handle, r, buf, out.nbytes)
        if code < 0:
            _callbacks.raise_failure(code)
        if dropped:
            out = out.reshape(tuple(s for d, s in enumerate(shape) if d not in dropped))
        return out[()] if out.ndim == 0 else out  # every index an integer: a scalar

    # ---- array protocols ---------------------------------------------------------------------

    @property
    def ndim(self):
        return len(self.shape)

    def __len__(self):
        if self.shape[0] is None:
            raise TypeError(f'tensor "{self.id}": its first dimension is infinite, it has no '
                            "length (slice a region, or take t.view(region))")
        return self.shape[0]

    def __array__(self, dtype=None, copy=None):
        if None in self.shape:
            raise ValueError(f'tensor "{self.id}" has infinite dimensions '
                             f"{[d for d, n in enumerate(self.shape) if n is None]}: take an "
                             "array of a region (np.asarray(t.view(region)) or t[region])")
        a = self[(slice(None),) * self.ndim]
        return a if dtype is None else a.astype(dtype, copy=False)

    def view(self, key):
        """A lazy view of a finite region (an index as for slicing; integer indices keep a
        dimension of 1): its shape, dtype, ndim and len, sliced within it (indices relative to
        the region), read only when sliced or converted (np.asarray)."""
        from .view import TensorView
        r, shape, _ = self._region(key, squeeze_ints=False)
        return TensorView(self, tuple(r.start[d] for d in range(self.ndim)),
                          tuple(r.step[d] for d in range(self.ndim)), shape)

    def to_dask(self, key):
        """The region as a dask array (python3-dask): one block per stored chunk it meets, each
        read through the library when computed (any dask scheduler; the threaded one reads
        blocks in parallel)."""
        return self.view(key).to_dask()

    def to_xarray(self, key, dims=None):
        """The region as an xarray.DataArray (python3-xarray), lazy through dask when it is
        installed: pixel coordinates as coordinates, the tensor's description as attributes."""
        return self.view(key).to_xarray(dims)

    def blocks(self, key, budget=0):
        """Yields (start, view) for every chunk the region meets, block by block (within the
        context's memory budget, or `budget` bytes): `view` is a read-only numpy array of the
        region's part of the chunk, in the store's own memory (no copy; memory-store chunks in
        place, HDF5 chunks decoded once), and `start` the pixel coordinates of its first
        element. Missing chunks are computed first. A view, and every array made from it, keeps
        its chunk in memory for as long as it is referenced. Steps must be 1."""
        r, _, _ = self._region(key, squeeze_ints=False)
        p = ffi.new("it_chunk_views **")
        self._guard.enter()  # the tensor stays open while the iteration or a view uses it
        try:
            code = lib.it_chunk_views_open(self._handle, r, budget, p)
            if code < 0:
                _callbacks.raise_failure(code)
        except BaseException:
            self._guard.leave()
            raise
        it = p[0]
        try:
            views, n = ffi.new("const it_chunk_view **"), ffi.new("size_t *")
            while True:
                code = lib.it_chunk_views_next(it, views, n)
                if code < 0:
                    _callbacks.raise_failure(code)
                if code == 0:
                    return
                for i in range(n[0]):
                    yield self._view(views[0] + i)
        finally:
            lib.it_chunk_views_close(it)
            self._guard.leave()

    def _view(self, v):
        """A view's chunk as a numpy array that keeps it pinned (see blocks)."""
        pin = ffi.new("it_chunk_pin **")
        self._guard.enter()
        code = lib.it_chunk_pin_take(self._handle, v, pin)
        if code < 0:
            self._guard.leave()
            _callbacks.raise_failure(code)
        guard, held = self._guard, pin[0]

        def unpin(_):
            lib.it_chunk_pin_release(held)
            guard.leave()

        rank = v.rank
        shape = tuple(v.shape[d] for d in range(rank))
        nbytes = int(np.prod(shape, dtype=np.int64)) * self.dtype.itemsize
        data = ffi.gc(ffi.cast("char *", v.data), unpin)
        whole = np.frombuffer(ffi.buffer(data, nbytes), self.dtype).reshape(shape)
        whole.flags.writeable = False
        part = whole[tuple(slice(v.first[d] - v.start[d], v.last[d] - v.start[d])
                           for d in range(rank))]
        return tuple(v.first[d] for d in range(rank)), part

    def fill(self, key):
        """Computes and stores every chunk of the region (no copy out)."""
        r, _, _ = self._region(key, squeeze_ints=False)
        with self._guard:
            code = lib.it_tensor_fill(self._handle, r)
        if code < 0:
            _callbacks.raise_failure(code)

    # ---- what is stored ----------------------------------------------------------------------

    def stats(self):
        """{'chunks', 'stored_bytes', 'bbox'} of the stored chunks (bbox: [(start, stop)...])."""
        st = ffi.new("it_tensor_stats *")
        with self._guard:
            check(lib.it_tensor_get_stats(self._handle, st))
        bbox = [(st.bbox_start[d], st.bbox_stop[d]) for d in range(len(self.shape))]
        return {"chunks": st.chunks, "stored_bytes": st.stored_bytes, "bbox": bbox}

    def counters(self):
        """What evaluating the tensor has cost: fn_calls, windows_computed, chunks_computed,
        chunks_loaded."""
        c = ffi.new("it_tensor_counters *")
        with self._guard:
            check(lib.it_tensor_get_counters(self._handle, c))
        return {"fn_calls": c.fn_calls, "windows_computed": c.windows_computed,
                "chunks_computed": c.chunks_computed, "chunks_loaded": c.chunks_loaded}

    def layout(self):
        """Where an HDF5 store keeps the tensor, for reading it with h5py: data_path,
        index_path (the computed chunks' coordinates), origin (pixel x along a dimension is
        data set index x - origin), extent, chunk, compression, level and checksum (chunks end
        with a Fletcher-32 checksum, which h5py checks when it reads them)."""
        lay = ffi.new("it_hdf5_layout *")
        with self._guard:
            check(lib.it_hdf5_tensor_layout(self._handle, lay))
        r = lay.rank
        return {"data_path": text(lay.data_path), "index_path": text(lay.index_path),
                "origin": tuple(lay.origin[d] for d in range(r)),
                "extent": tuple(lay.extent[d] for d in range(r)),
                "chunk": tuple(lay.chunk[d] for d in range(r)),
                "compression": text(lib.it_compression_name(lay.compression)),
                "level": lay.compression_level, "checksum": bool(lay.checksum)}

    def clear_cache(self):
        """Drops what of this tensor is held in memory only: a memory store computes its chunks
        again when read; an HDF5 store keeps what it stored (the original's clear_cache)."""
        with self._guard:
            check(lib.it_tensor_clear_cache(self._handle))

    # ---- exports -----------------------------------------------------------------------------

    def export_hdf5(self, path, key, dataset="data", contiguous=False, chunk=None,
                    compression=None, level=0, overwrite=False, dim_names=None, units=None,
                    sync=False, coord_units=None, long_name=None, fill_value=None):
        """Writes the region `key` (an index as for slicing; integer indices keep a dimension of
        1) into dataset `dataset` of the HDF5 file `path`, with coordinate variables and CF
        attributes. Returns the exported shape.

        overwrite: False refuses an existing dataset (errors.Exists), True replaces it,
        "if-identical" succeeds without writing when it already holds this export (a rerun) and
        refuses when it differs. units: of the values (UDUNITS, e.g. "m"); coord_units: of the
        coordinates (default "1"); long_name: of the values (default: the tensor id);
        fill_value: the _FillValue, also written where a tensor opened with fill_missing was
        never computed (floats default to NaN; integers meeting such chunks need one)."""
        r, _, _ = self._region(key, squeeze_ints=False)
        o = ffi.new("it_export_options *")
        lib.it_export_options_init(o)
        o.contiguous = int(contiguous)
        for d, c in enumerate(chunk or ()):
            o.chunk[d] = c or 0
        if compression is not None:
            code = ffi.new("it_compression *")
            check(lib.it_compression_parse(compression.encode(), code))
            o.compression = code[0]
        o.compression_level = level
        if overwrite not in (False, True, "if-identical"):
            raise ValueError(f'overwrite must be False, True or "if-identical" (got {overwrite!r})')
        o.overwrite = 2 if overwrite == "if-identical" else int(overwrite)
        o.sync = int(sync)
        keep = []
        if dim_names is not None:
            keep = [ffi.new("char[]", n.encode()) for n in dim_names]
            names = ffi.new("const char *[]", keep)
            keep.append(names)
            o.dim_names = names
        for field, text_value in (("value_units", units), ("units", coord_units),
                                  ("long_name", long_name)):
            if text_value is not None:
                keep.append(ffi.new("char[]", text_value.encode()))
                setattr(o, field, keep[-1])
        if fill_value is not None:
            o.fill_value_set = 1
            o.fill_value = float(fill_value)
        info = ffi.new("it_export_info *")
        with self._guard:
            code = lib.it_export_hdf5(self._handle, r, str(path).encode(), dataset.encode(), o,
                                      info)
        if code < 0:
            _callbacks.raise_failure(code)
        return tuple(info.shape[d] for d in range(info.rank))

    def preview_png(self, path, key, colormap="gray", vmin=None, vmax=None, average=True,
                    colorbar=False):
        """Renders the region `key` (2-D, or 3 channels first for RGB) as a PNG."""
        r, _, _ = self._region(key, squeeze_ints=False)
        o = ffi.new("it_preview_options *")
        lib.it_preview_options_init(o)
        if colormap not in _COLORMAPS:
            raise ValueError(f"colormap must be one of {sorted(_COLORMAPS)} (got {colormap!r})")
        o.colormap = _COLORMAPS[colormap]
        if vmin is not None or vmax is not None:
            if vmin is None or vmax is None:
                raise ValueError("give both vmin and vmax, or neither")
            o.fixed_range, o.vmin, o.vmax = 1, vmin, vmax
        o.average = int(average)
        o.colorbar = int(colorbar)
        with self._guard:
            code = lib.it_preview_png(self._handle, r, str(path).encode(), o)
        if code < 0:
            _callbacks.raise_failure(code)

    def __repr__(self):
        state = "released" if self._guard.closed else f"in {self._store!r}"
        return (f"InfiniteTensor({self.id!r}, shape={self.shape}, dtype={self.dtype}, "
                f"{state})")
