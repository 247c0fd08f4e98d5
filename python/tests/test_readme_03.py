"""The original 0.3 README's examples (its constructor API), run on this package with the
mechanical changes python/README.md lists: numpy arrays for torch tensors, a numpy gaussian
blur for torchvision's, seeded random numbers (window functions must be deterministic)."""
import numpy as np
import pytest

from infinite_tensor import (DeviceMismatchError, DtypeMismatchError, HDF5TileStore,
                             InfiniteTensor, InfiniteTensorError, MemoryTileStore,
                             ShapeMismatchError, TensorWindow, ValidationError)

WINDOW, PADDING = 512, 2
PADDED = WINDOW + 2 * PADDING


def your_processing_function(ctx):
    # ctx is the window index (e.g. (wy, wx) for 2D), NOT pixel coordinates.
    return np.ones((512, 512), np.float32)


def gaussian_blur(image, axes=(-2, -1)):
    """5x5 gaussian (sigma 1) over the last two axes, valid part only (PADDING lost per side)."""
    k = np.exp(-0.5 * np.arange(-2, 3) ** 2).astype(np.float32)
    k /= k.sum()
    for axis in axes:
        n = image.shape[axis] - 4
        image = sum(k[i] * np.take(image, range(i, i + n), axis=axis) for i in range(5))
    return image


def random_image(ctx):
    return np.random.default_rng(abs(hash(tuple(ctx))) % (1 << 32)).random(
        (3, WINDOW, WINDOW), dtype=np.float32)


def test_creating_a_tensor_and_slicing():
    tile_store = MemoryTileStore()
    tensor = InfiniteTensor(shape=(None, None), f=your_processing_function,
                            output_window=TensorWindow((512, 512)), tile_store=tile_store,
                            tensor_id="my_infinite_tensor")
    result = tensor[0:1024, 0:1024]
    assert result.shape == (1024, 1024) and np.all(result == 1)
    assert tensor[5, -3:4].shape == (7,) and tensor[-5, -3] == 1  # integers squeeze
    fresh = InfiniteTensor(shape=(None, None), f=your_processing_function,
                           output_window=TensorWindow((512, 512)))  # its own memory store
    assert isinstance(fresh._store, MemoryTileStore) and fresh[0, 0] == 1


def test_device_and_dtype():
    t = InfiniteTensor((None, None), your_processing_function, TensorWindow((512, 512)),
                       device="cpu", dtype=np.float32)
    assert t.dtype == np.float32 and t[0, 0] == 1
    wrong = InfiniteTensor((None, None), your_processing_function, TensorWindow((512, 512)),
                           dtype=np.float64)
    with pytest.raises(DtypeMismatchError):
        wrong[0, 0]


def test_cache_size_and_clearing_state():
    tile_store = MemoryTileStore(cache_size_bytes=200 * 1024 * 1024, cache_size_windows=None)
    tensor = InfiniteTensor(shape=(None, None), f=your_processing_function,
                            output_window=TensorWindow((512, 512)), tile_store=tile_store,
                            tensor_id="my_infinite_tensor")
    tensor[0:1024, 0:1024]
    assert tile_store.memory_bytes > 0
    tensor.clear_cache()
    assert tile_store.memory_bytes == 0
    tile_store.clear_tensor("my_infinite_tensor")
    assert "my_infinite_tensor" not in tile_store.list()


def test_dependency_chaining_and_batching():
    tile_store = MemoryTileStore()
    base = InfiniteTensor(shape=(3, None, None), f=random_image,
                          output_window=TensorWindow((3, WINDOW, WINDOW)), tile_store=tile_store,
                          tensor_id="base")
    padded_input_window = TensorWindow(size=(3, PADDED, PADDED), stride=(3, WINDOW, WINDOW),
                                       offset=(0, -PADDING, -PADDING))

    def blur(ctx, padded_input):
        return gaussian_blur(padded_input)

    blurred = InfiniteTensor(shape=(3, None, None), f=blur,
                             output_window=TensorWindow((3, WINDOW, WINDOW)), args=(base,),
                             args_windows=(padded_input_window,), tile_store=tile_store,
                             tensor_id="blurred")
    out = blurred[:, 0:1024, 0:1024]
    assert out.shape == (3, 1024, 1024)
    whole = base[:, -2:1026, -2:1026]  # the same blur of the assembled image
    assert np.allclose(out, gaussian_blur(whole), atol=1e-6)

    calls = []

    def blur_batched(ctxs, padded_inputs):
        calls.append(len(ctxs))
        cropped = gaussian_blur(np.stack(padded_inputs))  # (B, 3, WINDOW, WINDOW)
        return [cropped[i] for i in range(cropped.shape[0])]

    batched = InfiniteTensor(shape=(3, None, None), f=blur_batched,
                             output_window=TensorWindow((3, WINDOW, WINDOW)), args=(base,),
                             args_windows=(padded_input_window,), tile_store=tile_store,
                             tensor_id="blurred_batched", batch_size=4)
    assert np.array_equal(batched[:, 0:1024, 0:1024], out)
    assert max(calls) <= 4 and sum(calls) == 4


def test_dimension_map_keeps_a_leading_dimension_fixed():
    window = TensorWindow(size=(1, 64, 64), stride=(1, 64, 64), dimension_map=(None, 1, 2))
    t = InfiniteTensor((1, None, None), lambda ctx: np.full((1, 64, 64), ctx[1], np.float32),
                       window)
    got = t[:, 0:128, 0:64]
    assert got.shape == (1, 128, 64) and got[0, 0, 0] == 0 and got[0, 64, 0] == 1


def test_custom_window_blending():
    def f(ctx):
        wy, wx = ctx
        return np.full((64, 64), float(wy + wx), np.float32)

    tensor = InfiniteTensor(shape=(None, None), f=f,
                            output_window=TensorWindow((64, 64), stride=(32, 32)),
                            tile_store=MemoryTileStore(), tensor_id="max_blend_example",
                            blend=np.maximum, blend_init=float("-inf"))
    result = tensor[0:128, 0:128]  # per-pixel max over every covering window
    y, x = np.indices((128, 128))
    assert np.array_equal(result, (y // 32 + x // 32).astype(np.float32))


def test_persistent_storage_with_hdf5(tmp_path):
    path = tmp_path / "tensor_data.h5"
    calls = []

    def counted(ctx):
        calls.append(ctx)
        return your_processing_function(ctx)

    with HDF5TileStore(path, tile_size=512) as tile_store:
        tensor = InfiniteTensor(shape=(None, None), f=counted,
                                output_window=TensorWindow((512, 512)), tile_store=tile_store,
                                tensor_id="my_infinite_tensor")
        result = tensor[0:2048, 0:2048]
        tile_store.flush()
    assert result.shape == (2048, 2048) and len(calls) == 16
    with HDF5TileStore(path, tile_size=256) as tile_store:  # another tile_size: refused
        with pytest.raises(ValidationError, match="chunk"):
            InfiniteTensor(shape=(None, None), f=counted, output_window=TensorWindow((512, 512)),
                           tile_store=tile_store, tensor_id="my_infinite_tensor")
    with HDF5TileStore(path, tile_size=512, cache_size_bytes=256 * 1024 * 1024,
                       cache_size_tiles=None) as tile_store:
        tensor = InfiniteTensor(shape=(None, None), f=counted,
                                output_window=TensorWindow((512, 512)), tile_store=tile_store,
                                tensor_id="my_infinite_tensor")
        assert np.array_equal(tensor[0:2048, 0:2048], result) and len(calls) == 16
        tensor.clear_cache()  # in-memory buffers only
        assert np.array_equal(tensor[0:512, 0:512], result[0:512, 0:512]) and len(calls) == 16
        tile_store.clear_tensor("my_infinite_tensor")  # the saved state too
        assert "my_infinite_tensor" not in tile_store.list()


def test_public_exceptions():
    for e in (ValidationError, ShapeMismatchError, DeviceMismatchError, DtypeMismatchError):
        assert issubclass(e, InfiniteTensorError)
    wrong_shape = InfiniteTensor((None, None), lambda ctx: np.ones((4, 4), np.float32),
                                 TensorWindow((8, 8)))
    with pytest.raises(ShapeMismatchError):
        wrong_shape[0:8, 0:8]
