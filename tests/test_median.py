"""median: exact agreement with scipy.ndimage.median_filter, defaults and errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage

from denoise import InvalidParameterError, median
from denoise.filters._sortnet import fused_module, median_network, odd_even_merge_sort

from conftest import ROOT, random_image, threads


def scipy_median(image, radius):
    size = (2 * radius + 1,) * 2 + ((1,) if image.ndim == 3 else ())
    return ndimage.median_filter(image, size=size, mode="reflect")


# radius 1, 2: fused kernels; 3..5: block networks (8-bit: 3, 4, then the
# constant-time histogram); 6 and up: sliding histogram
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (7, 5), (24, 31), (33, 20, 3)])
@pytest.mark.parametrize("radius", [0, 1, 2, 3, 4, 5, 6, 9, 15])
def test_equals_scipy_exactly(dtype, shape, radius):
    image = random_image(shape, dtype, seed=sum(shape) + radius)
    out = median(image, radius=radius)
    assert out.dtype == image.dtype
    if 2 * radius + 1 > 3 * min(shape[:2]) > 3:
        # scipy departs from its own mode='reflect' when the window spans the
        # mirrored image several times over; the brute-force median of the
        # mirrored image is the reference there
        np.testing.assert_array_equal(out, padded_median(image, radius))
    else:
        np.testing.assert_array_equal(out, scipy_median(image, radius))


def padded_median(image, radius):
    size = 2 * radius + 1
    planes = image.reshape(image.shape[:2] + (-1,))
    padded = np.pad(planes, ((radius, radius), (radius, radius), (0, 0)), mode="symmetric")
    windows = np.lib.stride_tricks.sliding_window_view(padded, (size, size), axis=(0, 1))
    out = np.median(windows.reshape(windows.shape[:3] + (-1,)), axis=3)
    return out.astype(image.dtype).reshape(image.shape)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("radius", [1, 2, 3, 5, 8, 15])
def test_equals_scipy_on_a_wide_image(dtype, radius):
    """Wider than one network block (4096 bytes), with long runs of equal values."""
    rng = np.random.default_rng(radius)
    image = (rng.integers(0, 6, (19, 1500)) * rng.integers(1, 40)).astype(dtype)
    np.testing.assert_array_equal(median(image, radius=radius), scipy_median(image, radius))


@pytest.mark.parametrize("radius", [5, 12])
def test_constant_time_histogram_on_a_textured_image(radius):
    """8-bit, several tiles: the median wanders across coarse bins (lazy fine counts)."""
    y, x = np.mgrid[0:150, 0:700]
    rng = np.random.default_rng(radius)
    image = np.clip(128 + 90 * np.sin(x / 23.0) * np.cos(y / 17.0)
                    + rng.normal(0, 20, x.shape), 0, 255).astype(np.uint8)
    with threads(2):
        np.testing.assert_array_equal(median(image, radius=radius), scipy_median(image, radius))


@pytest.mark.parametrize("radius", [1, 2, 7])
def test_float_values_are_not_quantised(radius):
    """Values closer than float32 steps, negatives and signed zeros keep their order."""
    rng = np.random.default_rng(3)
    base = rng.normal(0.0, 1.0, (30, 40))
    for image in (base * 1e-30, 1.0 + base * 1e-12, np.round(base, 1) * 0.0 - 0.0 + base):
        np.testing.assert_array_equal(median(image, radius=radius), scipy_median(image, radius))
        single = image.astype(np.float32)
        np.testing.assert_array_equal(median(single, radius=radius), scipy_median(single, radius))


def test_float16_runs_as_float32():
    image = random_image((20, 17), np.float16, seed=2)
    out = median(image, radius=2)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, scipy_median(image.astype(np.float32), 2))


def test_alpha_is_untouched():
    image = random_image((16, 12, 4), np.uint8, seed=4)
    out = median(image, radius=2)
    np.testing.assert_array_equal(out[..., 3], image[..., 3])
    np.testing.assert_array_equal(out[..., :3], scipy_median(image[..., :3], 2))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("radius", [1, 2, 5, 9])
def test_one_thread_equals_two(radius, dtype):
    image = random_image((70, 600), dtype, seed=radius)
    with threads(1):
        one = median(image, radius=radius)
    with threads(2):
        two = median(image, radius=radius)
    np.testing.assert_array_equal(one, two)


def test_networks_select_the_median_of_sorted_columns():
    """Every network, run in plain Python on sorted columns, gives numpy's median."""
    rng = np.random.default_rng(0)
    for k in (3, 5, 7, 9, 11):
        ops, output = median_network(k)
        for trial in range(300):
            window = rng.integers(0, 3 if trial % 2 else 1000, (k, k))
            wires = np.sort(window, axis=0).ravel().tolist()
            for op, a, b in ops:
                lo, hi = min(wires[a], wires[b]), max(wires[a], wires[b])
                wires[a] = lo if op != 2 else wires[a]
                wires[b] = hi if op != 1 else wires[b]
            assert wires[output] == np.median(window)


@pytest.mark.parametrize("n", range(1, 20))
def test_odd_even_merge_sort_sorts(n):
    """0-1 principle: a comparator network sorts everything if it sorts all 0/1 inputs."""
    pairs = odd_even_merge_sort(n)
    for bits in range(2 ** min(n, 12)):
        wires = [(bits >> w) & 1 for w in range(n)] if n <= 12 else \
            list(np.random.default_rng(bits).integers(0, 2, n))
        for a, b in pairs:
            if wires[a] > wires[b]:
                wires[a], wires[b] = wires[b], wires[a]
        assert wires == sorted(wires)


def test_equals_scipy_with_many_ties():
    image = np.random.default_rng(5).integers(0, 3, size=(40, 40), dtype=np.uint8)
    np.testing.assert_array_equal(median(image, radius=2), scipy_median(image, 2))


def test_radius_zero_is_identity():
    image = random_image((9, 11, 3), np.float32)
    np.testing.assert_array_equal(median(image, radius=0), image)


def test_removes_an_isolated_impulse():
    image = np.full((9, 9), 40, dtype=np.uint8)
    image[4, 4] = 255
    np.testing.assert_array_equal(median(image), np.full((9, 9), 40, dtype=np.uint8))


@pytest.mark.parametrize("sigma, dtype, radius", [
    (None, np.uint8, 1), (15, np.uint8, 1), (30, np.uint8, 1), (50, np.uint8, 2),
    (80, np.uint8, 3), (50 * 257, np.uint16, 2), (50 / 255, np.float32, 2)])
def test_radius_from_sigma(sigma, dtype, radius):
    image = random_image((16, 16), dtype, seed=7)
    np.testing.assert_array_equal(median(image, sigma=sigma), median(image, radius=radius))


@pytest.mark.parametrize("kwargs, match", [
    ({"radius": -1}, "radius must be an integer >= 0"),
    ({"radius": 51}, "radius must be an integer <= 50"),
    ({"radius": 1.5}, "radius must be an integer"),
    ({"radius": True}, "radius must be an integer"),
    ({"sigma": 0}, "sigma must be a finite number > 0"),
])
def test_parameter_errors(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        median(np.zeros((8, 8), np.uint8), **kwargs)


@settings(max_examples=60, deadline=None)
@given(image=arrays(np.float32, st.tuples(st.integers(1, 14), st.integers(1, 14)),
                    elements=st.floats(-1e6, 1e6, width=32)),
       radius=st.integers(0, 4))
def test_equals_scipy_on_any_float_image(image, radius):
    np.testing.assert_array_equal(median(image, radius=radius), scipy_median(image, radius))


def test_generated_fused_kernels_are_current():
    """_medianfused.py is what the network generator writes today (regenerate with
    ``python -m denoise.filters._sortnet``)."""
    path = ROOT / "denoise" / "filters" / "_medianfused.py"
    assert path.read_text() == fused_module()
