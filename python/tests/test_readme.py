"""The original library's README examples, run on this package with the mechanical changes
its documentation lists: the import line, numpy instead of torch (numpy's dtype given where
torch's default float32 was implied; seeded random numbers, since window functions must be
deterministic)."""
import uuid

import numpy as np
import pytest

from infinite_tensor import TensorWindow


@pytest.fixture
def tile_store(store):
    return store


def test_creating_and_using(tile_store):
    def your_processing_function(ctx):
        # ctx is the window index (e.g., (wy, wx) for 2D)
        return np.ones((512, 512), np.float32)

    window = TensorWindow((512, 512))
    tensor = tile_store.get_or_create(uuid.uuid4(), shape=(None, None),
                                      f=your_processing_function, output_window=window,
                                      chunk_size=512)
    result = tensor[0:1024, 0:1024]
    assert result.shape == (1024, 1024) and result.dtype == np.float32 and (result == 1).all()

    with tile_store.get_or_create(uuid.uuid4(), (None, None), your_processing_function,
                                  window) as t:
        part = t[10:100, 20:200]
    assert part.shape == (90, 180) and (part == 1).all()
    assert t.released  # the context manager's cleanup


def test_dependency_chaining(tile_store):
    def zeros_tensor_func(ctx):
        return np.zeros((10, 512, 512), np.float32)  # (C, H, W)

    base_window = TensorWindow((10, 512, 512))
    base = tile_store.get_or_create(uuid.uuid4(), (10, None, None), zeros_tensor_func,
                                    base_window)
    offset_window = TensorWindow((10, 512, 512), offset=(0, -256, -256))

    def inc_func(ctx, prev):
        return prev + 1

    dep = tile_store.get_or_create(uuid.uuid4(), (10, None, None), inc_func, offset_window,
                                   args=(base,), args_windows=(offset_window,))
    out = dep[:, 0:512, 0:512]  # ones
    assert out.shape == (10, 512, 512) and (out == 1).all()
    dep.mark_for_cleanup()
    base.mark_for_cleanup()
    assert dep.released and base.released


def test_image_processing(tile_store):
    def process_image(ctx):
        # return HxWxC window; adjust as needed
        rng = np.random.default_rng(abs(hash(ctx)))
        return rng.standard_normal((64, 64, 3), dtype=np.float32)

    image_window = TensorWindow((64, 64, 3))
    image_tensor = tile_store.get_or_create(uuid.uuid4(), shape=(None, None, 3), f=process_image,
                                            output_window=image_window)
    region = image_tensor[0:512, 0:512, :]
    assert region.shape == (512, 512, 3)
    again = image_tensor[0:512, 0:512, :]
    assert np.array_equal(region, again)
    # the window at (1, 2) is what process_image gives for ctx (1, 2, 0)
    assert np.array_equal(region[64:128, 128:192, :], process_image((1, 2, 0)))


def test_data_streaming(tile_store):
    feature_size = 128

    def process_stream(ctx):
        rng = np.random.default_rng(ctx[0] + 1000)
        return rng.standard_normal((1000, feature_size), dtype=np.float32)

    stream_window = TensorWindow((1000, feature_size))
    stream_tensor = tile_store.get_or_create(uuid.uuid4(), shape=(None, feature_size),
                                             f=process_stream, output_window=stream_window)
    batch = stream_tensor[0:5000, :]
    assert batch.shape == (5000, feature_size)
    assert np.array_equal(batch[3000:4000], process_stream((3,)))


def gaussian_kernel(size=5, sigma=1.0):
    x = np.arange(size) - size // 2
    k = np.exp(-x ** 2 / (2 * sigma ** 2))
    return (k / k.sum()).astype(np.float32)


def blur(image, pad):
    """Separable gaussian blur of a (C, H + 2 pad, W + 2 pad) image into (C, H, W)."""
    k = gaussian_kernel(2 * pad + 1)
    h, w = image.shape[1] - 2 * pad, image.shape[2] - 2 * pad
    rows = sum(k[i] * image[:, i:i + h, :] for i in range(2 * pad + 1))
    return sum(k[i] * rows[:, :, i:i + w] for i in range(2 * pad + 1)).astype(np.float32)


def test_blur_example(tile_store):
    """The original's examples/blur.py: a random image of unbounded size blurred twice through
    padded argument windows; compared with the same arithmetic on a plain numpy image."""
    size, pad = 64, 2

    def random_image(ctx):
        rng = np.random.default_rng([ctx[1] & 0xFFFF, ctx[2] & 0xFFFF])
        return rng.random((3, size, size), dtype=np.float32)

    window = TensorWindow((3, size, size))
    padded = TensorWindow((3, size + 2 * pad, size + 2 * pad), stride=(3, size, size),
                          offset=(0, -pad, -pad))
    image = tile_store.get_or_create("image", (3, None, None), random_image, window)
    blur1 = tile_store.get_or_create("blur1", (3, None, None), lambda ctx, im: blur(im, pad),
                                     window, args=(image,), args_windows=(padded,))
    blur2 = tile_store.get_or_create("blur2", (3, None, None), lambda ctx, im: blur(im, pad),
                                     window, args=(blur1,), args_windows=(padded,))
    got = blur2[:, 100:140, 60:130]

    # by hand: the image over [100 - 2 pad, 140 + 2 pad) x [60 - 2 pad, 130 + 2 pad)
    y0, y1, x0, x1 = 100 - 2 * pad, 140 + 2 * pad, 60 - 2 * pad, 130 + 2 * pad
    full = np.zeros((3, 4 * size, 4 * size), np.float32)
    for wy in range(4):
        for wx in range(4):
            full[:, wy * size:(wy + 1) * size, wx * size:(wx + 1) * size] = \
                random_image((0, wy, wx))
    b1 = blur(full[:, y0:y1, x0:x1], pad)
    b2 = blur(b1, pad)
    np.testing.assert_allclose(got, b2, rtol=1e-5, atol=1e-6)
