"""Tile stores: where tensors keep their chunks. MemoryTileStore keeps them in memory (an
optional byte limit evicts least recently used chunks, which are computed again when read);
HDF5TileStore keeps each tensor as one sparse chunked data set of an HDF5 file, so work
survives the process. Both run on a Context (threads and memory budget of the C engine)."""
import contextlib
import inspect
import os
import threading
import uuid
import warnings
import weakref

import numpy as np

from . import _callbacks, _validate
from ._lib import IT_INF, IT_OPEN_FILL_MISSING, IT_TENSOR_SERIAL, IT_TENSOR_TRANSIENT, ffi, lib
from ._lib import IT_WEIGHT_FLAT, text
from ._lifetime import Guard
from .errors import InvalidArgument, NotFound, ValidationError, check
from . import tensor as _tensor
from .tensor import InfiniteTensor
from .window import TensorWindow


class Context:
    """The C engine's context: `threads` worker threads (0 = every CPU; the reading thread is
    one of them) and a `memory_budget` in bytes for evaluation (0 = 512 MiB). Stores made on
    one context can chain their tensors.

    `progress` (also settable later): progress(done, total) is called on the reading thread
    at the start of every slice, fill or export and after each block of chunks (exports count
    bytes); a true result cancels the call with `Canceled`, an exception cancels it and is
    raised as itself. Chunks finished before stay stored."""

    def __init__(self, threads=0, memory_budget=0, progress=None):
        o = ffi.new("it_ctx_options *")
        lib.it_ctx_options_init(o)
        o.threads = threads
        o.memory_budget = memory_budget
        p = ffi.new("it_ctx **")
        check(lib.it_ctx_create(o, p))
        self._ctx = p[0]
        self._progress_key = 0
        self.progress = progress

    @property
    def threads(self):
        return lib.it_ctx_threads(self._ctx)

    @property
    def progress(self):
        return self._progress

    @progress.setter
    def progress(self, fn):
        old = self._progress_key
        if fn is None:
            check(lib.it_ctx_set_progress(self._ctx, ffi.NULL, ffi.NULL))
            self._progress_key = 0
        else:
            self._progress_key = _callbacks.register(fn)
            check(lib.it_ctx_set_progress(self._ctx, _callbacks.progress_callback,
                                          ffi.cast("void *", self._progress_key)))
        if old:
            _callbacks.unregister(old)
        self._progress = fn

    def __del__(self):
        ctx, self._ctx = getattr(self, "_ctx", None), None
        if ctx is not None:
            lib.it_ctx_destroy(ctx)  # stores hold their context: none is left
        if getattr(self, "_progress_key", 0):
            _callbacks.unregister(self._progress_key)


_default = None


def default_context():
    """The context stores use when none is given (created on first use, every CPU)."""
    global _default
    if _default is None:
        _default = Context()
    return _default


class WeightProfile:
    """The weighted blend's profile (blend="weighted"): kind "constant", "tent", "hann",
    "gaussian" or "array"; border (tent, hann) and sigma (gaussian) per dimension, 0 for the
    default (the windows' overlap; size / 8) and None for no fall-off; a floor raising small
    weights; array (kind "array") of the window's shape. See include/infinite_tensor/tensor.h."""

    def __init__(self, kind="tent", border=None, sigma=None, floor=0.0, array=None):
        self.kind, self.border, self.sigma, self.floor = kind, border, sigma, floor
        self.array = None if array is None else np.ascontiguousarray(array, dtype=np.float64)


def _fill_weight(desc, weight, keep):
    w = weight if isinstance(weight, WeightProfile) else WeightProfile(weight or "constant")
    kind = ffi.new("it_weight_kind *")
    check(lib.it_weight_kind_parse(w.kind.encode(), kind))
    desc.weight.kind = kind[0]
    for d, b in enumerate(w.border or ()):
        desc.weight.border[d] = IT_WEIGHT_FLAT if b is None else int(b)
    for d, s in enumerate(w.sigma or ()):
        desc.weight.sigma[d] = IT_WEIGHT_FLAT if s is None else float(s)
    desc.weight.floor = float(w.floor)
    if w.array is not None:
        keep.append(w.array)
        desc.weight.array = ffi.cast("const double *", ffi.from_buffer(w.array))


def _chunk(desc, chunk_size, shape):
    for d, c in enumerate(_validate.chunk_size(chunk_size, shape) or ()):
        desc.chunk[d] = 0 if c is None else c


def _legacy_keywords(legacy):
    """The original get_or_create's legacy keywords: cache_method has no meaning (dropped, as
    in the original); cache_limit is not applied (a store's limit is set when it opens)."""
    legacy.pop("cache_method", None)
    if legacy.pop("cache_limit", None) is not None:
        warnings.warn("cache_limit is not applied: give cache_size_bytes when the store opens",
                      RuntimeWarning, stacklevel=3)
    if legacy:
        raise TypeError(f"unexpected keyword arguments: {sorted(legacy)}")


_CALL_BYTES = 64 << 10  # output per C call of a per-window Python function (see _calls_batch)


def _calls_batch(window, dtype):
    """How many windows of a per-window Python function the library hands over per call: each
    call takes the GIL once, and with several threads the GIL's hand-overs cost more than the
    package's own work per window (measured: 16 us instead of 8 per 16x16 window on 2 threads).
    Small windows go up to 16 per call (about 64 KiB of output), large ones one by one, so that
    the threads still share few large windows. f is called once per window either way."""
    size = int(np.prod(window.size, dtype=np.int64)) * dtype.itemsize
    return max(1, min(16, _CALL_BYTES // max(size, 1)))


def _tile_chunks(tile_size, shape):
    """An HDF5 store's tile_size as a chunk_size for a tensor of `shape`: an int for every
    infinite dimension, or a tuple with one entry per infinite dimension."""
    if tile_size is None:
        return None
    infinite = [d for d, n in enumerate(shape) if n is None]
    if isinstance(tile_size, int):
        sizes = [tile_size] * len(infinite)
    else:
        sizes = list(tile_size)
        if len(sizes) != len(infinite):
            raise ValidationError(f"tile_size has {len(sizes)} entries, the tensor "
                                  f"{len(infinite)} infinite dimensions")
    chunk = [None] * len(shape)
    for d, c in zip(infinite, sizes):
        chunk[d] = c
    return tuple(chunk)


def _blend_in_place(blend):
    """A callable blend as the library calls it: blend(acc, incoming, count) updating acc in
    place. The original's blend(existing, incoming) -> combined (two parameters, or a numpy
    ufunc such as np.maximum) is wrapped to assign its result."""
    nin = getattr(blend, "nin", None)
    if nin is None:
        try:
            params = [p for p in inspect.signature(blend).parameters.values()
                      if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY,
                                                               p.POSITIONAL_OR_KEYWORD)]
            nin = len(params)
        except (TypeError, ValueError):
            nin = 2
    if nin >= 3:
        return blend

    def combine(acc, incoming, count):
        acc[...] = blend(acc, incoming)
    return combine


class TileStore:
    """What both stores offer; see MemoryTileStore and HDF5TileStore."""

    tile_size = None  # HDF5 stores: the default chunking of new tensors' infinite dimensions

    def __init__(self, handle, context):
        self._store = handle
        self._context = context
        self._close_code = 0
        self._guard = Guard(self._free)
        self._tensors = weakref.WeakValueDictionary()  # id -> the open InfiniteTensor
        # Finding an open tensor and registering a new one happen under one lock: two threads
        # asking for the same id would otherwise both miss it and the second be refused (its
        # callback key differs from the first's).
        self._handles_lock = threading.RLock()

    @property
    def _open(self):
        return not self._guard.closed

    def _free(self):
        """The library's store goes (no call uses it or its tensors any more)."""
        self._close_code = lib.it_store_close(self._store)

    # ---- tensors -----------------------------------------------------------------------------

    def get_or_create(self, id, shape, f, output_window, args=(), args_windows=(),
                      chunk_size=None, dtype=np.float32, blend="sum", blend_init=0.0,
                      weight=None, fn_tag=None, serial=False, transient=False, batch_size=1,
                      stacked=False, **legacy):
        """Deprecated, as in the original 0.3: construct `InfiniteTensor(..., tile_store=store,
        tensor_id=id)` instead. The same tensor either way. The original's legacy keywords:
        `tile_size` becomes an HDF5 store's tile_size (ignored by memory stores, as there);
        `cache_method` is dropped; `cache_limit` is not applied (a warning says so: a store's
        limit is set when it opens)."""
        warnings.warn("TileStore.get_or_create is deprecated; construct InfiniteTensor directly "
                      "with tile_store=store, tensor_id=...", DeprecationWarning, stacklevel=2)
        tile_size = legacy.pop("tile_size", None)
        if tile_size is not None and isinstance(self, HDF5TileStore):  # as the original does
            self.tile_size = tile_size
        _legacy_keywords(legacy)
        return self._construct(id, shape, f, output_window, args, args_windows, chunk_size,
                               dtype, blend, blend_init, weight, fn_tag, serial, transient,
                               batch_size, stacked)

    def _construct(self, id, shape, f, output_window, args=(), args_windows=(),
                   chunk_size=None, dtype=np.float32, blend="sum", blend_init=0.0,
                   weight=None, fn_tag=None, serial=False, transient=False, batch_size=1,
                   stacked=False):
        """The tensor `id` of this store: the open one when it is open here with the same
        configuration (its function stays the first one given), else a new one (an HDF5 store
        reconnects to what it has stored of `id`, after checking every recorded field). `id`
        is str()-ed (a uuid.UUID works); None makes a fresh one.

        shape: one entry per dimension, None for infinite ones. f(index, *arg_slices) returns
        a numpy array of output_window's size and the tensor's dtype; arg_slices are read-only
        arrays (copies, not to be kept past the call: that is refused). f may read tensors
        (data-dependent reads; one that needs what its own computation makes raises Cycle),
        but args are the fast way to read upstream tensors. args/args_windows: upstream tensors and
        the windows through which each is read (their map entries index this tensor's window
        index). blend: "sum",
        "max", "min", "replace", "mean", "weighted" (with `weight`, a kind name or a
        WeightProfile) or a callable blend(acc, incoming, count) updating acc in place row by
        row. transient: keep chunks only while a read needs them (memory stores only).
        batch_size N > 1: f(indices, *slice_lists) with lists of up to N, returning a list (the
        original's convention); with stacked=True, f(indices, *stacked_slices) with an (n, rank)
        int64 array of indices and each argument's slices stacked along a new first axis,
        returning the n windows stacked: one call and whole-batch numpy operations."""
        tid = new_id() if id is None else str(id)
        shape = _validate.shape(shape)
        _validate.function("f", f)
        if chunk_size is None:
            chunk_size = _tile_chunks(self.tile_size, shape)
        if blend is None:
            blend = "sum"
        if callable(blend):
            blend = _blend_in_place(blend)
        elif not isinstance(blend, str):
            raise ValidationError(f"blend must be callable, None or a blend name (\"sum\", "
                                  f"\"max\", \"mean\", ...), got {blend!r} "
                                  f"({type(blend).__name__})")
        if not isinstance(output_window, TensorWindow):
            raise ValidationError("output_window must be a TensorWindow, got "
                                  f"{type(output_window).__name__}")
        args, args_windows = tuple(args or ()), tuple(args_windows or ())
        if len(args) != len(args_windows):
            raise ValidationError(f"{len(args)} args but {len(args_windows)} args_windows")
        for i, a in enumerate(args):
            if not isinstance(a, InfiniteTensor):
                raise ValidationError(f"args[{i}] must be an InfiniteTensor, got "
                                      f"{type(a).__name__}")
            if not isinstance(args_windows[i], TensorWindow):
                raise ValidationError(f"args_windows[{i}] must be a TensorWindow, got "
                                      f"{type(args_windows[i]).__name__}")
        blend_init = _validate.real("blend_init", blend_init)
        batch_size = _validate.integer("batch_size", 1 if batch_size is None else batch_size, 1)
        if not isinstance(stacked, bool):
            raise ValidationError(f"stacked must be True or False, got {stacked!r}")
        with contextlib.ExitStack() as using:  # the store and the arguments stay alive meanwhile
            using.enter_context(self._guard)
            for a in args:
                using.enter_context(a._guard)
            return self._get_or_create(tid, shape, f, output_window, args, args_windows,
                                       chunk_size, dtype, blend, blend_init, weight, fn_tag,
                                       serial, transient, batch_size, stacked)

    def _get_or_create(self, *a):
        with self._handles_lock:
            return self._get_or_create_locked(*a)

    def _get_or_create_locked(self, tid, shape, f, output_window, args, args_windows, chunk_size,
                              dtype, blend, blend_init, weight, fn_tag, serial, transient,
                              batch_size, stacked):
        existing = self._tensors.get(tid)
        dt = _callbacks.DTYPES[_callbacks.dtype_code(dtype)]
        key = existing._key if existing is not None else _callbacks.register(
            _callbacks.Entry(f, blend if callable(blend) else None, tid, dt, output_window.size,
                             batched=batch_size > 1 and not stacked, stacked=stacked))
        keep = []
        try:
            calls = batch_size if batch_size > 1 or stacked else _calls_batch(output_window, dt)
            desc = self._desc(tid, shape, dt, output_window, args, args_windows, chunk_size,
                              blend, blend_init, weight, fn_tag, serial, transient, calls,
                              key, keep)
            p = ffi.new("it_tensor **")
            code = lib.it_tensor_get_or_create(self._store, desc, p)
            if code < 0:
                _callbacks.raise_failure(code)
        except BaseException:
            if existing is None:
                _callbacks.unregister(key)
            raise
        if existing is not None:
            lib.it_tensor_release(p[0])  # the open Python tensor holds the library's handle
            return existing
        t = InfiniteTensor._wrap(self, p[0], key, args)
        self._tensors[tid] = t
        return t

    def _desc(self, tid, shape, dt, window, args, args_windows, chunk_size, blend, blend_init,
              weight, fn_tag, serial, transient, batch_size, key, keep):
        rank = len(shape)
        desc = ffi.new("it_tensor_desc *")
        check(lib.it_tensor_desc_init(desc, rank))
        keep.append(ffi.new("char[]", tid.encode()))
        desc.id = keep[-1]
        for d, n in enumerate(shape):
            desc.shape[d] = IT_INF if n is None else int(n)
        desc.dtype = _callbacks.dtype_code(dt)
        if window.rank != rank:
            raise InvalidArgument(f"output_window has rank {window.rank}, the shape {rank}")
        desc.window = window.to_c()[0]
        if args:
            handles = ffi.new("it_tensor *[]", [a._handle for a in args])
            windows = ffi.new("it_window[]", [w.to_c()[0] for w in args_windows])
            keep += [handles, windows]
            desc.n_args, desc.args, desc.arg_windows = len(args), handles, windows
        desc.fn = _callbacks.window_callback
        desc.user = ffi.cast("void *", key)
        desc.batch_size = batch_size
        if callable(blend):
            desc.blend = lib.IT_BLEND_CUSTOM
            desc.blend_fn = _callbacks.blend_callback
        else:
            b = ffi.new("it_blend *")
            check(lib.it_blend_parse(str(blend).encode(), b))
            desc.blend = b[0]
            if b[0] == lib.IT_BLEND_WEIGHTED:
                _fill_weight(desc, weight, keep)
            elif weight is not None:
                raise InvalidArgument("weight is given but blend is not \"weighted\"")
        desc.blend_init = blend_init
        _chunk(desc, chunk_size, shape)
        if fn_tag is not None:
            keep.append(ffi.new("char[]", str(fn_tag).encode()))
            desc.fn_tag = keep[-1]
        desc.flags = (IT_TENSOR_SERIAL if serial else 0) | (IT_TENSOR_TRANSIENT if transient else 0)
        return desc

    def open(self, id, fill_missing=False):
        """A stored tensor without its function (HDF5 stores): reads of computed chunks work;
        chunks never computed raise NotComputed, or read as blend_init with fill_missing."""
        tid = str(id)
        with self._guard, self._handles_lock:
            if tid in self._tensors:
                return self._tensors[tid]
            p = ffi.new("it_tensor **")
            check(lib.it_tensor_open(self._store, tid.encode(),
                                     IT_OPEN_FILL_MISSING if fill_missing else 0, p))
            t = InfiniteTensor._wrap(self, p[0], 0, ())
            self._tensors[tid] = t
            return t

    def _forget(self, t):
        with self._handles_lock:
            if self._tensors.get(t.id) is t:
                del self._tensors[t.id]

    def list(self):
        """Ids of the tensors the store holds (HDF5: stored; memory: open)."""
        ids = []

        @ffi.callback("int(const char *, void *)")
        def collect(tid, user):
            ids.append(ffi.string(tid).decode())
            return 0

        with self._guard:
            check(lib.it_store_list(self._store, collect, ffi.NULL))
        return sorted(ids)

    def delete(self, id):
        """Removes tensor `id` and its stored data (an open tensor of it is released)."""
        tid = str(id)
        t = self._tensors.get(tid)
        with self._guard:
            if t is not None:
                if t._guard.busy:  # the deletion would end the handle under the running call
                    raise ValueError(f'tensor "{tid}" is being used by a running call (another '
                                     "thread's, or the read whose window function deletes it): "
                                     "delete it once that returns")
                t.release()
            check(lib.it_store_delete_tensor(self._store, tid.encode()))

    # ---- the store ---------------------------------------------------------------------------

    def flush(self):
        with self._guard:
            check(lib.it_store_flush(self._store))

    def clear_cache(self, tensor_id=None):
        """Drops what is held in memory only (every tensor's, or `tensor_id`'s): a memory store
        computes those chunks again when read; an HDF5 store keeps its stored data."""
        if tensor_id is not None:
            t = self._tensors.get(str(tensor_id))
            if t is not None:
                t.clear_cache()
            return
        with self._guard:
            check(lib.it_store_clear_cache(self._store))

    def clear_direct_caches(self):
        """Deprecated, as in the original: clear_cache() of every tensor of the store."""
        warnings.warn("TileStore.clear_direct_caches is deprecated; call "
                      "InfiniteTensor.clear_cache() or store.clear_cache(tensor_id) instead",
                      DeprecationWarning, stacklevel=2)
        self.clear_cache()

    def clear_tensor(self, tensor_id):
        """Deletes everything of the tensor (the original's name for delete; no error when
        there is nothing to delete)."""
        try:
            self.delete(tensor_id)
        except NotFound:
            pass

    def close(self):
        """Flushes and closes the store; every tensor of it is released. Calls using it on other
        threads (or the read whose window function closes it) finish first: the store closes
        when the last of them returns, and later calls raise ValueError."""
        for t in list(self._tensors.values()):
            t._store_closed()
        if self._guard.close("the store is closed"):
            check(self._close_code)  # 0 when the close waits for a call still using the store

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class MemoryTileStore(TileStore):
    """Chunks in memory; `cache_bytes` (0 = unlimited; the original's `cache_size_bytes`, None
    = unlimited) bounds them, evicting the least recently used (they are computed again when
    read). The original's `cache_size_windows` is accepted but not applied: this store bounds
    bytes, whatever the windows' size (a warning says so)."""

    def __init__(self, cache_bytes=0, context=None, cache_size_bytes=None,
                 cache_size_windows=None, **legacy):
        cache_bytes = _cache_bytes(cache_bytes, cache_size_bytes, legacy)
        if cache_size_windows is not None:
            warnings.warn("MemoryTileStore: cache_size_windows is not applied; the store bounds "
                          "bytes (cache_size_bytes)", RuntimeWarning, stacklevel=2)
        context = context or default_context()
        o = ffi.new("it_memory_store_options *")
        lib.it_memory_store_options_init(o)
        o.cache_bytes = cache_bytes
        p = ffi.new("it_store **")
        check(lib.it_store_open_memory(context._ctx, o, p))
        super().__init__(p[0], context)

    @property
    def memory_bytes(self):
        with self._guard:
            return lib.it_store_memory_bytes(self._store)

    def __repr__(self):
        return "MemoryTileStore()"


class HDF5TileStore(TileStore):
    """Tensors in an HDF5 file, one sparse chunked data set each (h5py, HDFView and netCDF
    tools read it). mode: "a" (read and write, created when missing), "w" (create, truncating)
    or "r" (read only). compression (a name of infinite_tensor.codecs(): "deflate", "lz4",
    "zstd", "none") and level apply to new tensors; cache_bytes bounds the decoded-chunk cache; sync makes every flush durable against
    power loss; checksum (default) ends every chunk of a new tensor with a Fletcher-32 checksum,
    so damaged chunks raise FormatError whatever the codec. map (read-only opens): uncompressed
    chunks come straight from a mapping of the file (t.blocks hands them out without a copy);
    the store then keeps writers out while open."""

    _MODES = {"w": lib.IT_HDF5_CREATE, "a": lib.IT_HDF5_READWRITE, "r": lib.IT_HDF5_READONLY}

    def __init__(self, path, mode="a", compression=None, level=0, cache_bytes=0, sync=False,
                 checksum=True, context=None, tile_size=None, cache_size_bytes=None,
                 cache_size_tiles=None, map=False, **legacy):
        if "tile_cache_size" in legacy:  # the original's older name of cache_size_tiles
            warnings.warn("tile_cache_size is deprecated; use cache_size_tiles",
                          DeprecationWarning, stacklevel=2)
            cache_size_tiles = legacy.pop("tile_cache_size")
        cache_bytes = _cache_bytes(cache_bytes, cache_size_bytes, legacy)
        if cache_size_tiles is not None:
            warnings.warn("HDF5TileStore: cache_size_tiles is not applied; the decoded-chunk "
                          "cache bounds bytes (cache_size_bytes)", RuntimeWarning, stacklevel=2)
        if tile_size is not None:
            sizes = (tile_size,) if isinstance(tile_size, int) else tuple(tile_size)
            tile_size = type(tile_size)(_validate.integer("tile_size", c, 1) for c in sizes) \
                if not isinstance(tile_size, int) else _validate.integer("tile_size", tile_size, 1)
        self.tile_size = tile_size
        if mode not in self._MODES:
            raise InvalidArgument(f'mode must be "a", "w" or "r" (got {mode!r})')
        context = context or default_context()
        o = ffi.new("it_hdf5_options *")
        lib.it_hdf5_options_init(o)
        if compression is not None:
            c = ffi.new("it_compression *")
            check(lib.it_compression_parse(compression.encode(), c))
            o.compression = c[0]
        o.compression_level = level
        o.cache_bytes = cache_bytes
        o.sync = int(sync)
        o.checksum = int(bool(checksum))
        o.map = int(bool(map))
        p = ffi.new("it_store **")
        check(lib.it_store_open_hdf5(context._ctx, os.fsencode(path), self._MODES[mode], o, p))
        self.path = os.fspath(path)
        super().__init__(p[0], context)

    def __repr__(self):
        return f"HDF5TileStore({self.path!r})"


def _cache_bytes(cache_bytes, cache_size_bytes, legacy):
    """The byte limit of a store's cache from its own name (0: unlimited), the original's
    (None: unlimited) or the original's older `tile_cache_size` (with a warning)."""
    if "tile_cache_size" in legacy:
        warnings.warn("tile_cache_size is deprecated; use cache_size_bytes", DeprecationWarning,
                      stacklevel=3)
        cache_size_bytes = legacy.pop("tile_cache_size")
    if legacy:
        raise TypeError(f"unexpected keyword arguments: {sorted(legacy)}")
    if cache_size_bytes is not None:
        return _validate.integer("cache_size_bytes", cache_size_bytes, 1)
    return _validate.integer("cache_bytes", cache_bytes, 0)


def writer_progress(path):
    """What the writer of the HDF5 store at `path` (another process) computes now, read without
    opening the store: None when no writer has a read or fill running, else {"id", "done",
    "total" (chunks), "pid", "started", "updated" (seconds since the epoch)}."""
    p = ffi.new("it_hdf5_progress *")
    if check(lib.it_hdf5_writer_progress(os.fsencode(path), p)) != 1:
        return None
    return {"id": text(p.id), "done": p.done, "total": p.total, "pid": p.pid,
            "started": p.started_ns / 1e9, "updated": p.updated_ns / 1e9}


def compact(path, context=None):
    """Rewrites the HDF5 store at `path` without the space deleted tensors left (HDF5 never
    shrinks a file): the C library's it_hdf5_compact, all or nothing, while no writer has the
    store open. Returns {"bytes_before", "bytes_after", "tensors"}."""
    info = ffi.new("it_hdf5_compact_info *")
    check(lib.it_hdf5_compact((context or default_context())._ctx, os.fsencode(path), info))
    return {"bytes_before": info.bytes_before, "bytes_after": info.bytes_after,
            "tensors": info.tensors}


def new_id():
    """A fresh tensor id (the original's uuid.uuid4(), as a string)."""
    return str(uuid.uuid4())


__all__ = ["Context", "default_context", "WeightProfile", "TileStore", "MemoryTileStore",
           "HDF5TileStore", "new_id", "writer_progress", "compact"]

_tensor._STORES.update(base=TileStore, memory=MemoryTileStore)  # InfiniteTensor(...) makes them
