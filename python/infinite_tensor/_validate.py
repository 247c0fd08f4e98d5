"""Arguments of the Python API checked before they reach the library, as the original checks
them: each failure is a ValidationError naming the argument and what it got."""
import numbers

import numpy as np

from .errors import ValidationError


def _got(value):
    return f"got {value!r} ({type(value).__name__})"


def real(name, value):
    """A real number (int, float or numpy scalar; not a bool, not a string) as float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValidationError(f"{name} must be a real number, {_got(value)}")
    return float(value)


def integer(name, value, minimum):
    """An integer (not a bool) of at least `minimum`, as int."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValidationError(f"{name} must be an integer, {_got(value)}")
    if value < minimum:
        raise ValidationError(f"{name} must be >= {minimum}, {_got(value)}")
    return int(value)


def shape(value):
    """A tensor shape: a non-empty sequence of None (infinite) and positive integers."""
    try:
        dims = tuple(value)
    except TypeError:
        raise ValidationError(f"shape must be a tuple of None and positive integers, "
                              f"{_got(value)}") from None
    if not dims:
        raise ValidationError("shape must have at least one dimension, got ()")
    for d, n in enumerate(dims):
        if n is not None:
            integer(f"shape[{d}]", n, 1)
    return dims


def chunk_size(value, dims):
    """None, one size for every infinite dimension, or one entry per dimension (None: the
    default) -- the original's int, and a tuple over the dimensions."""
    if value is None:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        integer("chunk_size", value, 1)
        return tuple(None if n is not None else int(value) for n in dims)
    entries = tuple(value)
    if len(entries) != len(dims):
        raise ValidationError(f"chunk_size has {len(entries)} entries, the shape {len(dims)}")
    return tuple(None if c is None else integer(f"chunk_size[{d}]", c, 1)
                 for d, c in enumerate(entries))


def function(name, value):
    if not callable(value):
        raise ValidationError(f"{name} must be callable, {_got(value)}")
    return value
