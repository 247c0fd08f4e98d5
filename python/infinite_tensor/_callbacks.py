"""Python functions called from the C library's worker threads: window functions and custom
blends. One C callback of each kind serves every tensor; its `user` pointer is the key of the
tensor's entry here. cffi takes the GIL for each call, so Python code runs one call at a time
while the library blends, encodes and writes on its own threads.

A Python exception inside a callback cannot cross C frames: it is kept under a token, the
callback returns the token as its failure status, the library fails the read with
IT_ECALLBACK and keeps that value (it_last_callback_status), and the reading thread raises the
kept exception (with its traceback). Nothing of a failed window or chunk is stored."""
import itertools
import sys
import threading

import numpy as np

from ._lib import IT_ECALLBACK, IT_ECANCELED, ffi, lib, text
from .errors import (DeviceMismatchError, DtypeMismatchError, ShapeMismatchError, ValidationError,
                     error_for)

DTYPES = {lib.IT_F32: np.dtype(np.float32), lib.IT_F64: np.dtype(np.float64),
          lib.IT_I8: np.dtype(np.int8), lib.IT_I16: np.dtype(np.int16),
          lib.IT_I32: np.dtype(np.int32), lib.IT_I64: np.dtype(np.int64),
          lib.IT_U8: np.dtype(np.uint8), lib.IT_U16: np.dtype(np.uint16),
          lib.IT_U32: np.dtype(np.uint32), lib.IT_U64: np.dtype(np.uint64)}
CODES = {dt: code for code, dt in DTYPES.items()}


def dtype_code(dtype):
    """The it_dtype of a numpy dtype (ValidationError for one the library does not have)."""
    try:
        dt = np.dtype(dtype)
    except TypeError as e:
        raise ValidationError(f"dtype {dtype!r} is not a numpy dtype ({e})") from None
    if dt not in CODES or not dt.isnative:
        raise ValidationError(f"dtype {dt.str} is not one of the library's (in native byte "
                              "order): " + ", ".join(str(d) for d in CODES))
    return CODES[dt]


# Re-entrant: the garbage collector may run a tensor's finaliser (which unregisters its entry)
# on a thread at any point, also inside a `with _lock` block of that thread.
_lock = threading.RLock()
_entries = {}                 # key -> Entry
_keys = itertools.count(1)
_failures = {}                # token -> exception raised by a callback
_tokens = itertools.count(1)
_MAX_KEPT = 1024              # failures never claimed (several windows of one read failing)


def register(entry):
    """Keeps entry for the C callbacks; returns its key (the `user` pointer's value)."""
    with _lock:
        key = next(_keys)
        _entries[key] = entry
    return key


def unregister(key):
    with _lock:
        _entries.pop(key, None)


def _keep(exc):
    with _lock:
        token = next(_tokens) % (1 << 30) + 1
        _failures[token] = exc
        while len(_failures) > _MAX_KEPT:
            _failures.pop(next(iter(_failures)))
    return token


_progress = threading.local()  # .failure: what a progress function raised on this thread


def raise_failure(code):
    """Raises the error of a failed call: the Python exception a callback raised when the
    library quotes its token (or a progress function raised, on this thread), the library's
    error otherwise."""
    message = text(lib.it_last_error())
    failure = getattr(_progress, "failure", None)
    _progress.failure = None
    if code == IT_ECANCELED and failure is not None:
        raise failure
    if code == IT_ECALLBACK:
        token = lib.it_last_callback_status()
        with _lock:
            exc = _failures.pop(token, None) if token else None
        if exc is not None:
            if hasattr(exc, "add_note"):
                exc.add_note(f"(infinite_tensor: {message})")
            raise exc
    raise error_for(code)


_spares = threading.local()  # .arrays: {(shape, dtype): [lent arrays nobody kept]}
_SPARE_KINDS, _SPARES_PER_KIND = 8, 2
_SPARE_BYTES = 32 << 20       # bytes kept per thread at most


def _lend(ptr, shape, dtype, nbytes, writeable):
    """What a callback is given: a copy of the library's memory in an array Python owns, so that
    whatever the callback keeps of it (the array, a view, a memoryview) stays valid and is never
    changed by the library, which reuses its own memory once the callback returns. The array is
    one that an earlier call on this thread lent and nobody kept, where there is one: fresh
    memory costs page faults, more than the copy."""
    spare = getattr(_spares, "arrays", None)
    kind = spare.get((shape, dtype)) if spare else None
    if kind:
        a = kind.pop()
        a.flags.writeable = True
    else:
        a = np.empty(shape, dtype)
    if nbytes:
        ffi.memmove(a, ptr, nbytes)
    if not writeable:
        a.flags.writeable = False
    return a


def _take_back(arrays):
    """Lent arrays that nobody kept (checked), for the next calls on this thread, within
    _SPARE_BYTES per thread."""
    spare = _spares.__dict__.setdefault("arrays", {})
    held = sum(a.nbytes for kind in spare.values() for a in kind)
    for a in arrays:
        key = (a.shape, a.dtype)
        if key not in spare and len(spare) >= _SPARE_KINDS:
            held -= sum(x.nbytes for x in spare.pop(next(iter(spare))))
        kind = spare.setdefault(key, [])
        if len(kind) < _SPARES_PER_KIND and held + a.nbytes <= _SPARE_BYTES:
            kind.append(a)
            held += a.nbytes


def _give(entry, out, dest):
    """A checked result to the library's output memory."""
    if not out.flags.c_contiguous:
        out = np.ascontiguousarray(out)
    if entry.nbytes:
        ffi.memmove(dest, out, entry.nbytes)


class Entry:
    """A tensor's Python callbacks (its `user` pointer serves both): the window function f,
    an optional blend(acc, incoming, count) updating acc in place, and what checking f's
    results needs."""

    def __init__(self, f, blend, tensor_id, dtype, shape, batched=False, stacked=False):
        self.f, self.blend, self.id = f, blend, tensor_id
        self.dtype, self.shape = dtype, tuple(shape)
        self.nbytes = int(np.prod(self.shape, dtype=np.int64)) * dtype.itemsize
        self.batched = batched  # batch_size > 1: f(indices, *slice_lists) -> list
        self.stacked = stacked  # f(indices array, *stacked slices) -> stacked array
        self.args = None        # [(shape, dtype, nbytes)] per argument, from the first call

    def arg_layout(self, b):
        """Each argument slice's (shape, dtype, nbytes): the same in every call of a tensor."""
        if self.args is None:
            layout = []
            for i in range(b.n_args):
                shape = tuple(b.arg_shape[i][j] for j in range(b.arg_rank[i]))
                dtype = DTYPES[b.arg_dtype[i]]
                layout.append((shape, dtype, int(np.prod(shape, dtype=np.int64)) * dtype.itemsize))
            self.args = layout
        return self.args


def _refs(arrays):
    """Reference counts of the lent arrays, measured the same way before and after a callback:
    each owns its memory, so every numpy view, memoryview or other export of it refers to it."""
    return [sys.getrefcount(arrays[i]) for i in range(len(arrays))]


def _check_released(entry, index, who, arrays, held):
    """The contract is that arguments are valid during the call: a reference kept past it is
    refused (its memory, a copy, stays valid), so that a function keeps copies on purpose."""
    now = _refs(arrays)
    for i in range(len(arrays)):
        if now[i] > held[i]:
            raise RuntimeError(f'tensor "{entry.id}", window {index}: {who} kept a reference '
                               f"to its argument {i} (or a view of it) after returning; keep a "
                               "copy (np.copy) instead")


def _as_array(entry, index, out):
    """A window function's result as a numpy array: numpy arrays as they are; anything with
    DLPack, __array__ or the buffer protocol (a torch CPU tensor, a memoryview, ...) without a
    copy where it allows. Lists are refused: their element type is a guess."""
    if isinstance(out, np.ndarray):
        return out
    where = f'tensor "{entry.id}", window {index}'
    device = getattr(out, "device", None)
    if device is not None and str(getattr(device, "type", device)) not in ("cpu", "CPU"):
        raise DeviceMismatchError(f"{where}: the function returned an array on {device}; "
                                  "tensors take arrays in host memory (move it with .cpu())")
    try:
        if hasattr(out, "__dlpack__"):
            return np.from_dlpack(out)
        if hasattr(out, "__array__") or hasattr(out, "__array_interface__"):
            return np.asarray(out)
        if isinstance(out, memoryview) or hasattr(out, "__buffer__"):
            return np.asarray(memoryview(out))
    except (TypeError, ValueError, RuntimeError, BufferError) as e:
        raise DeviceMismatchError(f"{where}: the function's {type(out).__name__} cannot be read "
                                  f"as an array in host memory ({e})") from e
    raise DtypeMismatchError(f"{where}: the function returned {type(out).__name__}, not an "
                             "array (numpy, or anything with __dlpack__, __array__ or a buffer)")


def _check(entry, index, out):
    out = _as_array(entry, index, out)
    if out.shape != entry.shape:
        raise ShapeMismatchError(f'tensor "{entry.id}", window {index}: the function returned '
                                 f"shape {out.shape}, the window has {entry.shape}")
    if out.dtype != entry.dtype:
        raise DtypeMismatchError(f'tensor "{entry.id}", window {index}: the function returned '
                                 f"dtype {out.dtype}, the tensor has {entry.dtype}")
    return out


def _indices(b, rank):
    flat = ffi.unpack(b.index, rank * b.count)
    return [tuple(flat[k * rank:(k + 1) * rank]) for k in range(b.count)]


def _call_batched(entry, b, layout):
    """The original's batch convention: f(indices, *slice_lists) with a list of window indices
    and, per argument, a list of slices, returning a list of as many results."""
    indices, n_args = _indices(b, b.rank), len(layout)
    lists = [[_lend(b.arg[k * n_args + i], *layout[i], False) for k in range(b.count)]
             for i in range(n_args)]
    flat = [a for one in lists for a in one]
    held = _refs(flat)
    outs = entry.f(indices, *lists)
    if not isinstance(outs, (list, tuple)) or len(outs) != len(indices):
        raise ShapeMismatchError(f'tensor "{entry.id}", windows {indices[0]}..: the batched '
                                 f"function returned {type(outs).__name__}"
                                 f"{f' of {len(outs)}' if isinstance(outs, (list, tuple)) else ''}"
                                 f", not a list of {len(indices)} arrays")
    for k, out in enumerate(outs):
        _give(entry, _check(entry, indices[k], out), b.out[k])
    del outs, out
    _check_released(entry, indices[0], "the batched function", flat, held)
    _take_back(flat)


def _call_stacked(entry, b, layout):
    """One call for the batch: f(indices, *stacked) with indices an (n, rank) int64 array and
    each argument's n slices stacked along a new first axis; f returns the n windows stacked."""
    n, rank, n_args = b.count, b.rank, len(layout)
    indices = np.frombuffer(ffi.buffer(b.index, n * rank * 8), np.int64).reshape(n, rank).copy()
    indices.flags.writeable = False
    stacked = []
    for i, (shape, dtype, nbytes) in enumerate(layout):
        a = np.empty((n,) + shape, dtype)
        for k in range(n):
            ffi.memmove(a[k], b.arg[k * n_args + i], nbytes)
        a.flags.writeable = False
        stacked.append(a)
    held = _refs(stacked)
    first = tuple(int(v) for v in indices[0])
    out = _as_array(entry, first, entry.f(indices, *stacked))
    want = (n,) + entry.shape
    if out.shape != want:
        raise ShapeMismatchError(f'tensor "{entry.id}", windows {first}..: the stacked function '
                                 f"returned shape {out.shape}, the batch has {want}")
    if out.dtype != entry.dtype:
        raise DtypeMismatchError(f'tensor "{entry.id}", windows {first}..: the stacked function '
                                 f"returned dtype {out.dtype}, the tensor has {entry.dtype}")
    if not out.flags.c_contiguous:
        out = np.ascontiguousarray(out)
    for k in range(n):
        if entry.nbytes:
            ffi.memmove(b.out[k], out[k], entry.nbytes)
    del out
    _check_released(entry, first, "the stacked function", stacked, held)


@ffi.callback("int(const it_window_batch *, void *)", error=-1)
def window_callback(b, user):
    try:
        entry = _entries[int(ffi.cast("intptr_t", user))]
        layout = entry.arg_layout(b)
        if entry.stacked:
            _call_stacked(entry, b, layout)
            return 0
        if entry.batched:
            _call_batched(entry, b, layout)
            return 0
        rank, n_args = b.rank, len(layout)
        f, index = entry.f, ffi.unpack(b.index, rank * b.count)
        for k in range(b.count):
            where = tuple(index[k * rank:(k + 1) * rank])
            args = [_lend(b.arg[k * n_args + i], *layout[i], False) for i in range(n_args)]
            held = _refs(args)
            out = _check(entry, where, f(where, *args))
            _give(entry, out, b.out[k])
            del out
            _check_released(entry, where, "the function", args, held)
            _take_back(args)
        return 0
    except BaseException as exc:  # noqa: B902 (KeyboardInterrupt too: raised by the read)
        return _keep(exc)


@ffi.callback("int(void *, const void *, const uint32_t *, size_t, void *)", error=-1)
def blend_callback(acc, incoming, count, n, user):
    try:
        entry = _entries[int(ffi.cast("intptr_t", user))]
        size = n * entry.dtype.itemsize
        arrays = [_lend(acc, (n,), entry.dtype, size, True),
                  _lend(incoming, (n,), entry.dtype, size, False),
                  _lend(count, (n,), np.dtype(np.uint32), n * 4, False)]
        held = _refs(arrays)
        entry.blend(*arrays)
        _check_released(entry, "row", "the blend", arrays, held)
        ffi.memmove(acc, arrays[0], arrays[0].nbytes)  # the blended row, back to the library
        return 0
    except BaseException as exc:  # noqa: B902
        return _keep(exc)


@ffi.callback("int(uint64_t, uint64_t, void *)", error=1)
def progress_callback(done, total, user):
    """A context's progress function: called on the reading thread; a true result cancels."""
    try:
        fn = _entries[int(ffi.cast("intptr_t", user))]
        return 1 if fn(done, total) else 0
    except BaseException as exc:  # noqa: B902 (raised by the read, as itself)
        _progress.failure = exc
        return 1
