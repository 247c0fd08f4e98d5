"""Handles under threads and callbacks: a tensor released or deleted, or its store closed, by
one thread while another reads it, or by the window function of the read itself, never
crashes the interpreter (the release takes effect when the read returns; later calls raise
ValueError). What a callback keeps of its arguments stays valid and unchanged, and is refused
with a clear error. A window function that reads another tensor gets an error, never a hang."""
import threading
import time

import numpy as np
import pytest

import infinite_tensor as it
from infinite_tensor import HDF5TileStore, InfiniteTensor, MemoryTileStore, TensorWindow

W8 = TensorWindow((8, 8))


def ramp(c):
    y, x = np.mgrid[c[0] * 8:c[0] * 8 + 8, c[1] * 8:c[1] * 8 + 8]
    return (y * 100 + x).astype(np.float32)


def slow_ramp(c):
    time.sleep(0.002)
    return ramp(c)


def read_while(action, t, region=(slice(0, 256), slice(0, 256))):
    """Reads region of t on a thread; once the read has started, runs action on this one.
    Returns what the read returned or raised."""
    started, result = threading.Event(), {}

    def reader():
        started.set()
        try:
            result["value"] = t[region]
        except BaseException as e:  # noqa: B902
            result["error"] = e

    th = threading.Thread(target=reader)
    th.start()
    started.wait()
    time.sleep(0.05)  # inside the library by now
    action()
    th.join()
    return result


@pytest.mark.parametrize("kind", ["memory", "hdf5"])
def test_release_and_close_while_another_thread_reads(tmp_path, ctx, kind):
    for action in ("release", "close", "delete"):
        s = MemoryTileStore(context=ctx) if kind == "memory" else \
            HDF5TileStore(tmp_path / f"{action}.h5", mode="w", context=ctx)
        t = s.get_or_create("slow", (None, None), slow_ramp, W8)
        if action == "delete":
            r = read_while(lambda: pytest.raises(ValueError, s.delete, "slow"), t)
        else:
            r = read_while(t.release if action == "release" else s.close, t)
        assert "error" not in r, r.get("error")  # the running read completes
        assert np.array_equal(r["value"][0:8, 0:8], ramp((0, 0)))
        if action != "delete":
            with pytest.raises(ValueError, match="released|closed"):
                t[0:8, 0:8]
        s.close()


def test_window_function_closes_its_store_or_releases_its_tensor(ctx):
    for action in ("close", "release"):
        s = MemoryTileStore(context=ctx)
        holder = {}

        def closing(c):
            if c == (1, 1):
                if action == "close":
                    s.close()
                else:
                    holder["t"].release()
            return ramp(c)

        t = holder["t"] = s.get_or_create("self", (None, None), closing, W8)
        assert np.array_equal(t[0:32, 0:32][8:16, 8:16], ramp((1, 1)))
        assert t.released
        with pytest.raises(ValueError):
            t[0:8, 0:8]
        s.close()


def test_kept_arguments_stay_valid_and_are_refused(store):
    """The argument, a memoryview of it and a blend's incoming row: each refused, and what was
    kept still holds the values it was given after the library reused its memory."""
    src = store.get_or_create("src", (None, None), ramp, W8)
    kept = []
    cases = {"itself": lambda c, x: kept.append(x) or x * 1,
             "memoryview": lambda c, x: kept.append(memoryview(x)) or x * 1}
    for name, f in cases.items():
        kept.clear()
        t = store.get_or_create(name, (None, None), f, W8, args=(src,), args_windows=(W8,))
        with pytest.raises(RuntimeError, match="kept a reference to its argument 0"):
            t[0:8, 0:8]
        store.get_or_create(name + "-other", (None, None), lambda c: ramp(c) * 0 - 5,
                            W8)[0:64, 0:64]  # the library's memory is reused meanwhile
        assert np.array_equal(np.asarray(kept[0]), ramp((0, 0)))

    rows = []

    def keeping_blend(acc, incoming, count):
        rows.append(incoming)
        np.maximum(acc, incoming, out=acc)

    b = store.get_or_create("blend", (None, None), ramp, TensorWindow((8, 8), stride=(4, 4)),
                            blend=keeping_blend, blend_init=-1e9)
    with pytest.raises(RuntimeError, match="the blend kept a reference to its argument 1"):
        b[0:16, 0:16]
    first = rows[0].copy()
    store.get_or_create("again", (None, None), lambda c: ramp(c) * 0 + 7, W8)[0:64, 0:64]
    assert np.array_equal(rows[0], first)


def test_nested_reads(store):
    # a window function may read other tensors (data-dependent reads), on several threads
    other = store.get_or_create("other", (None, None), ramp, W8)
    shifted = store.get_or_create(
        "shifted", (None, None),
        lambda c: other[8 * c[0] + 100:8 * c[0] + 108, 8 * c[1] - 50:8 * c[1] - 42], W8)
    assert np.array_equal(shifted[0:64, 0:64], other[100:164, -50:14])
    # reading what its own computation is making is a cycle: Cycle, never a hang
    selfish = store.get_or_create("selfish", (None, None),
                                  lambda c: selfish[8 * c[0]:8 * c[0] + 8, 8 * c[1]:8 * c[1] + 8],
                                  W8)
    with pytest.raises(it.Cycle, match='tensor "selfish" chunk'):
        selfish[0:8, 0:8]


def test_cycles_across_threads_never_hang():
    s = MemoryTileStore(context=it.Context(threads=4))
    tensors = {}

    def reads(name):
        return lambda c: tensors[name][8 * c[0]:8 * c[0] + 8, 8 * c[1]:8 * c[1] + 8]

    for round in range(10):
        p = s.get_or_create(f"p{round}", (None, None), reads(f"q{round}"), W8)
        q = s.get_or_create(f"q{round}", (None, None), reads(f"p{round}"), W8)
        tensors[f"p{round}"], tensors[f"q{round}"] = p, q
        errors = []

        def read(t):
            try:
                t[0:8, 0:8]
            except it.Cycle as e:
                errors.append(e)

        threads = [threading.Thread(target=read, args=(t,)) for t in (p, q)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads) and len(errors) == 2


def test_finalisers_inside_the_packages_locks_never_hang():
    """The garbage collector runs finalisers on whichever thread it interrupts, also inside the
    package's own lock blocks (Python 3.12 and later at any bytecode): a tensor finalised there
    releases its handle on that thread without waiting for the lock the thread holds. A window
    function leaving garbage cycles of tensors behind and failing, read from three threads,
    with collections forced every few allocations; hung 1 run in 2 before the locks were
    re-entrant."""
    import gc
    import itertools
    store = MemoryTileStore(context=it.Context(threads=4))
    names = itertools.count()

    def leave_garbage_and_fail(c):
        g = InfiniteTensor((None, None), lambda c: np.zeros((8, 8), np.float32), W8,
                           tile_store=store, tensor_id=f"garbage{next(names)}")
        box = [g]
        box.append(box)
        g.cycle = box
        raise RuntimeError("window failed")

    wrong = []
    threshold = gc.get_threshold()
    gc.set_threshold(5)
    try:
        for round in range(60):
            f = InfiniteTensor((None, None), leave_garbage_and_fail, W8, tile_store=store,
                               tensor_id=f"failing{round}")

            def read():
                for _ in range(5):
                    try:
                        f[0:64, 0:64]
                        wrong.append("the read succeeded")
                    except RuntimeError as e:
                        if "window failed" not in str(e):
                            wrong.append(repr(e))

            threads = [threading.Thread(target=read, daemon=True) for _ in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=20)  # a round takes milliseconds
            assert not any(t.is_alive() for t in threads), f"hung in round {round}"
    finally:
        gc.set_threshold(*threshold)
    assert wrong == []


def test_interpreter_exit_with_open_stores_and_tensors():
    """Stores and tensors left open at exit are finalised in whatever order the garbage
    collector picks (a store may go before its tensors): the process exits cleanly."""
    import os
    import subprocess
    import sys
    code = ("import numpy as np, infinite_tensor as it\n"
            "s = it.MemoryTileStore()\n"
            "t = s.get_or_create('ones', (None, None), lambda c: np.ones((8, 8), np.float32),\n"
            "                    it.TensorWindow((8, 8)))\n"
            "u = s.get_or_create('twice', (None, None), lambda c, x: x * 2,\n"
            "                    it.TensorWindow((8, 8)), args=(t,),\n"
            "                    args_windows=(it.TensorWindow((8, 8)),))\n"
            "assert u[0:8, 0:8].sum() == 128\n"
            "s.cycle = s\n")
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), ".."))
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_finalizers_never_wait_for_cffi():
    # __del__ methods call the library while a collection may run inside cffi's lock: every
    # name must be bound before, never made on first use there
    from infinite_tensor._lib import lib
    unbound = [name for name in dir(lib) if name not in vars(lib)]
    assert not unbound


def test_concurrent_get_or_create_shares_one_tensor():
    # threads asking for the same id and configuration at once all get the same tensor
    s = MemoryTileStore()
    w = TensorWindow((8, 8))
    got, errors = [], []

    def ask():
        try:
            for _ in range(50):
                got.append(s.get_or_create("shared", (None, None), lambda c: np.ones((8, 8), np.float32), w))
        except Exception as e:  # noqa: BLE001 - collected for the assertion
            errors.append(e)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert len(got) == 400 and all(t is got[0] for t in got)
    s.close()
