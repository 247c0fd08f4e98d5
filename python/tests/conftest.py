"""Test set-up: the package from this source tree, the library named by
INFINITE_TENSOR_LIBRARY (tools/test.sh and ctest set it to the build's copy)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import pytest  # noqa: E402

from infinite_tensor import Context, MemoryTileStore  # noqa: E402


def pytest_configure(config):
    # the suite's tests of the seed's API call get_or_create, deprecated as in the original 0.3
    config.addinivalue_line(
        "filterwarnings", "ignore:TileStore.get_or_create is deprecated:DeprecationWarning")


@pytest.fixture(scope="session")
def ctx():
    """A 2-thread context: callbacks really run on the library's worker threads."""
    return Context(threads=2)


@pytest.fixture
def store(ctx):
    """A memory store of its own per test, closed after it."""
    s = MemoryTileStore(context=ctx)
    yield s
    s.close()
