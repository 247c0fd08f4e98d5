"""Numpy-style indices as tensors and their views take them."""


def full_index(key, ndim, what):
    """A numpy-style index as a tuple of one entry per dimension: `...` expanded, missing
    trailing dimensions whole; IndexError naming `what` for too many entries."""
    if not isinstance(key, tuple):
        key = (key,)
    if any(k is Ellipsis for k in key):
        i = key.index(Ellipsis)
        key = key[:i] + (slice(None),) * (ndim - len(key) + 1) + key[i + 1:]
    if len(key) > ndim:
        raise IndexError(f"{what} has {ndim} dimensions, the index has {len(key)}")
    return key + (slice(None),) * (ndim - len(key))
