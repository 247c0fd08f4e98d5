"""Lifetimes of the library's handles under Python threads and callbacks.

The library frees a tensor when it is released and every tensor of a store when the store is
closed; a call using such a handle at that moment would use freed memory. cffi lets other
Python threads run while a call is inside the library, and a window function runs inside a
read, so a release or a close can come from another thread, or from inside the very read that
uses the handle. A Guard counts the calls using its handle: a close only marks it closed (later
calls raise ValueError) and frees it when the last call using it returns."""
import threading


class Guard:
    def __init__(self, free, parent=None):
        # Re-entrant: a finaliser run by the garbage collector inside one of these blocks may
        # close a handle on the same thread.
        self._lock = threading.RLock()
        self._users = 0
        self._closed = None      # the reason later calls are refused
        self._free = free        # frees the handle; called once, with no call using it
        self._parent = parent    # the store's guard, for a tensor: its calls use the store too

    @property
    def closed(self):
        return self._closed is not None

    @property
    def busy(self):
        """Whether a call is using the handle now."""
        with self._lock:
            return self._users > 0

    def enter(self):
        """A call starts using the handle; ValueError when it is closed."""
        if self._parent is not None:
            self._parent.enter()
        with self._lock:
            if self._closed is not None:
                reason = self._closed
            else:
                reason = None
                self._users += 1
        if reason is not None:
            if self._parent is not None:
                self._parent.leave()
            raise ValueError(reason)

    def leave(self):
        with self._lock:
            self._users -= 1
            free = self._free if self._closed is not None and self._users == 0 else None
            if free is not None:
                self._free = None
        if free is not None:
            free()
        if self._parent is not None:
            self._parent.leave()

    def close(self, reason, instead=None):
        """Refuses later calls with `reason`; frees the handle now, or when the last call using
        it returns (running `instead` then, when given: the handle's owner frees it). Returns
        False when it was closed already."""
        with self._lock:
            if self._closed is not None:
                return False
            self._closed = reason
            if instead is not None:
                self._free = instead
            run = self._free if self._users == 0 else None
            if run is not None:
                self._free = None
        if run is not None:
            run()
        return True

    def __enter__(self):
        self.enter()
        return self

    def __exit__(self, *exc):
        self.leave()
        return False
