"""The library's status codes as Python exceptions. Every exception carries the library's
one-line message, its status code (`code`, negative) and the code's name (`name`).

The original library's exception names are here too, as subclasses of these, so code written
for it catches what it expects: InfiniteTensorError (the base of all), ValidationError (every
invalid argument, and a reconnect with another configuration), ShapeMismatchError,
DtypeMismatchError and DeviceMismatchError (what a window function returned)."""
from ._lib import lib, text


class Error(Exception):
    """A failed library call: `code` is the IT_E* status, `name` its name."""

    def __init__(self, message, code=0, name=""):
        super().__init__(message)
        self.code = code
        self.name = name


class InvalidArgument(Error, ValueError):
    """IT_EINVAL: an argument or descriptor field is wrong (the message names it)."""


class OutOfRange(Error, IndexError):
    """IT_ERANGE: coordinates outside a finite dimension or the int64 range."""


class ValidationError(InvalidArgument):
    """An argument is not valid; the message names it (IT_EINVAL, and the original's
    ValidationError)."""


class Mismatch(ValidationError):
    """IT_EMISMATCH: a tensor of that id exists with another configuration (field named)."""


class ShapeMismatchError(ValidationError):
    """A window function returned an array of another shape than its output window."""


class DtypeMismatchError(ValidationError, TypeError):
    """A window function returned an array of another dtype than its tensor's."""


class DeviceMismatchError(ValidationError, TypeError):
    """A window function returned an array that is not in host memory (a GPU tensor)."""


InfiniteTensorError = Error


class NotComputed(Error):
    """IT_ENOTCOMPUTED: a tensor opened without its function lacks a needed chunk."""


class NotFound(Error, LookupError):
    """IT_ENOTFOUND: no such tensor in the store."""


class Exists(Error):
    """IT_EEXIST: an object of that name exists (a dataset of an export, an open tensor)."""


class FormatError(Error):
    """IT_EFORMAT: a file or stored value is not what the library writes."""


class StorageError(Error, OSError):
    """IT_EIO, IT_ENOSPC, IT_ELOCKED: the file system or the file refused."""


class Canceled(Error):
    """IT_ECANCELED."""


class Cycle(Error):
    """IT_ECYCLE: a read nested in a window function needs what its own computation is making
    (the chunks are named)."""


class CallbackError(Error):
    """IT_ECALLBACK from a callback that is not Python's (Python exceptions propagate as
    themselves)."""


_BY_NAME = {
    "IT_EINVAL": ValidationError, "IT_ERANGE": OutOfRange, "IT_EMISMATCH": Mismatch,
    "IT_ENOTCOMPUTED": NotComputed, "IT_ENOTFOUND": NotFound, "IT_EEXIST": Exists,
    "IT_EFORMAT": FormatError, "IT_EIO": StorageError, "IT_ENOSPC": StorageError,
    "IT_ELOCKED": StorageError, "IT_ECANCELED": Canceled, "IT_ECALLBACK": CallbackError, "IT_ECYCLE": Cycle,
}


def error_for(code):
    """The exception for status `code`, with the calling thread's last message."""
    name = text(lib.it_error_name(code))
    if name == "IT_ENOMEM":
        return MemoryError(text(lib.it_last_error()))
    return _BY_NAME.get(name, Error)(text(lib.it_last_error()), code, name)


def check(code):
    """Raises the exception of a failed call (code < 0); returns code otherwise."""
    if code < 0:
        raise error_for(code)
    return code
