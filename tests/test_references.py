"""The ref: adapters: registered when their package is installed, same contract as ours,
equal to the package called directly with the documented sigma rule, and planned
(parameters checked, halo declared) without running anything."""
import importlib.util
import subprocess
import sys

import numpy as np
import pytest
from scipy.ndimage import median_filter
from skimage.restoration import denoise_nl_means, denoise_tv_chambolle

import denoise
from denoise._image import ImageInfo
from denoise.registry import REGISTRY

from conftest import DTYPES, LAYOUTS, data_range, random_image

REFS = sorted(n for n in REGISTRY if REGISTRY[n].is_reference)


def installed(module):
    return importlib.util.find_spec(module) is not None


def call(name, image, **kwargs):
    return REGISTRY[name].func(image, **kwargs)


def smooth_noisy(shape, sigma, seed=0):
    """A smooth ramp plus Gaussian noise, float64 on [0, 1]."""
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]]
    clean = 0.2 + 0.6 * (rows + cols) / (shape[0] + shape[1])
    if len(shape) == 3:
        clean = np.repeat(clean[..., None], shape[2], axis=2) * np.linspace(0.8, 1.0, shape[2])
    return clean, clean + np.random.default_rng(seed).normal(0, sigma, clean.shape)


def test_registered_exactly_when_installed():
    expected = {"ref:skimage-nlm", "ref:skimage-bilateral", "ref:skimage-tv",
                "ref:scipy-median"}
    if installed("pywt"):
        expected.add("ref:skimage-wavelet")
    if installed("cv2"):
        expected |= {"ref:opencv-nlm", "ref:opencv-bilateral", "ref:opencv-median"}
    if installed("bm3d"):
        expected.add("ref:bm3d")
    assert set(REFS) == expected
    assert not any(REGISTRY[n].is_reference for n in denoise.__all__ if n in REGISTRY)


def test_families_pair_ours_with_references():
    assert REGISTRY["ref:scipy-median"].family == REGISTRY["median"].family
    assert REGISTRY["ref:skimage-bilateral"].family == REGISTRY["bilateral"].family


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", REFS)
def test_shape_dtype_alpha_and_input_kept(name, dtype, layout):
    image = random_image((24, 21) + LAYOUTS[layout], dtype, seed=1)
    before = image.copy()
    out = REGISTRY[name].func(image, sigma=0.1 * data_range(dtype))
    assert out.shape == image.shape and out.dtype == image.dtype
    assert np.isfinite(out.astype(np.float64)).all()
    np.testing.assert_array_equal(image, before)
    if layout == "rgba":
        np.testing.assert_array_equal(out[..., 3], image[..., 3])


@pytest.mark.filterwarnings("ignore:Level value")      # pywt on tiny images
@pytest.mark.parametrize("shape", [(1, 1), (8, 8), (8, 8, 3), (5, 30)])
@pytest.mark.parametrize("name", REFS)
def test_tiny_images(name, shape):
    """Small images work (bm3d needs mirroring below its block size)."""
    image = random_image(shape, np.uint8, seed=4)
    assert REGISTRY[name].func(image, sigma=20.0).shape == shape


@pytest.mark.parametrize("name", REFS)
def test_denoising_helps(name):
    clean, noisy = smooth_noisy((40, 36), 0.1)
    out = REGISTRY[name].func(noisy, sigma=0.1)
    assert np.mean((out - clean) ** 2) < 0.5 * np.mean((noisy - clean) ** 2)


def test_skimage_nlm_rule():
    _, noisy = smooth_noisy((30, 28, 3), 0.1)
    expected = denoise_nl_means(noisy.astype(np.float32).astype(np.float64), h=0.07,
                                sigma=0.1, patch_size=5, patch_distance=6, fast_mode=True,
                                preserve_range=True, channel_axis=-1)
    out = call("ref:skimage-nlm", noisy, sigma=0.1)
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_skimage_tv_rule_in_8bit_units():
    """uint8 in, sigma in 0-255: weight 0.75 sigma / 255 on [0, 1] data."""
    image = random_image((30, 28), np.uint8, seed=5)
    expected = denoise_tv_chambolle(image / 255.0, weight=0.75 * 20 / 255)
    out = call("ref:skimage-tv", image, sigma=20.0)
    assert np.abs(out.astype(float) - expected * 255).max() <= 0.5 + 1e-3


@pytest.mark.skipif(not installed("pywt"), reason="PyWavelets not installed (bench extra)")
def test_skimage_wavelet_without_sigma_estimates_it():
    from skimage.restoration import denoise_wavelet

    _, noisy = smooth_noisy((32, 32), 0.05)
    expected = denoise_wavelet(noisy.astype(np.float32).astype(np.float64), wavelet="sym4",
                               mode="soft", method="BayesShrink", rescale_sigma=True)
    np.testing.assert_allclose(call("ref:skimage-wavelet", noisy), expected, atol=1e-6)


@pytest.mark.parametrize("sigma, size", [(20.0, 3), (40.0, 5), (80.0, 7)])
def test_scipy_median_size_rule(sigma, size):
    image = random_image((25, 23, 3), np.uint8, seed=6)
    expected = median_filter(image, size=(size, size, 1), mode="reflect")
    np.testing.assert_array_equal(call("ref:scipy-median", image, sigma=sigma), expected)


def test_scipy_median_equals_our_median():
    image = random_image((31, 27), np.float32, seed=7)
    np.testing.assert_array_equal(call("ref:scipy-median", image, size=5),
                                  denoise.median(image, radius=2))


@pytest.mark.parametrize("name", ["ref:skimage-nlm", "ref:skimage-tv"])
def test_sigma_needed_unless_strength_given(name):
    with pytest.raises(denoise.MissingSigmaError):
        REGISTRY[name].func(np.zeros((9, 9), np.uint8))


def test_bad_parameters_rejected():
    with pytest.raises(denoise.InvalidParameterError, match="odd"):
        call("ref:scipy-median", np.zeros((9, 9), np.uint8), size=4)
    if installed("pywt"):
        with pytest.raises(denoise.InvalidParameterError, match="wavelet"):
            call("ref:skimage-wavelet", np.zeros((9, 9), np.uint8), wavelet="nope")


@pytest.mark.skipif(not installed("cv2"), reason="OpenCV not installed (bench extra)")
def test_opencv_adapters_follow_their_rules():
    import cv2

    image = random_image((33, 35, 3), np.uint8, seed=8)
    gray = image[..., 0]
    expected = cv2.fastNlMeansDenoising(gray, None, 0.9 * 20, 7, 21)
    np.testing.assert_array_equal(call("ref:opencv-nlm", gray, sigma=20.0), expected)
    bgr = np.ascontiguousarray(image[..., ::-1])
    expected = cv2.fastNlMeansDenoisingColored(bgr, None, 0.6 * 20, 0.9 * 20, 7, 21)[..., ::-1]
    np.testing.assert_array_equal(call("ref:opencv-nlm", image, sigma=20.0), expected)
    expected = cv2.bilateralFilter(gray.astype(np.float32), 5, 3 * 20.0, 2.0)
    out = call("ref:opencv-bilateral", gray, sigma=20.0)
    assert np.abs(out.astype(float) - expected).max() <= 0.5 + 1e-3
    np.testing.assert_array_equal(call("ref:opencv-median", gray, sigma=80.0),
                                  cv2.medianBlur(gray, 7))


@pytest.mark.skipif(not installed("bm3d"), reason="bm3d not installed (bench extra)")
def test_bm3d_rule():
    import bm3d

    _, noisy = smooth_noisy((32, 32), 0.1)
    expected = bm3d.bm3d(noisy.astype(np.float32).astype(np.float64), 0.1)
    np.testing.assert_allclose(call("ref:bm3d", noisy, sigma=0.1), expected, atol=1e-5)
    with pytest.raises(denoise.MissingSigmaError):
        call("ref:bm3d", noisy)


def test_rules_derive_in_image_units_and_never_raise():
    gray8, color16 = ImageInfo.typical("uint8", 1), ImageInfo.typical("uint16", 3)
    for name in REFS:
        spec = REGISTRY[name]
        if spec.rule is not None:                  # without sigma: only what needs none
            assert set(spec.rule(gray8, None, dict(spec.defaults))) <= {"size"}
    rule = REGISTRY["ref:skimage-tv"].rule
    assert rule(gray8, 20.0, {"weight": None}) == {"weight": 0.75 * 20.0}
    size_rule = REGISTRY["ref:scipy-median"].rule
    assert [size_rule(color16, s * 257.0, {"size": None})["size"]   # 16-bit units
            for s in (20, 40, 80)] == [3, 5, 7]
    assert size_rule(gray8, None, {"size": None}) == {"size": 3}


@pytest.mark.skipif(not installed("cv2"), reason="OpenCV not installed (bench extra)")
def test_opencv_nlm_rule_knows_color_and_keeps_a_given_h():
    import cv2

    rule = REGISTRY["ref:opencv-nlm"].rule
    values = {"h": None, "h_color": None}
    assert rule(ImageInfo.typical("uint8", 1), 20.0, values) == {"h": 0.9 * 20.0,
                                                                 "h_color": 0.9 * 20.0}
    assert rule(ImageInfo.typical("uint8", 3), 20.0, values) == {"h": 0.6 * 20.0,
                                                                 "h_color": 0.9 * 20.0}
    image = random_image((33, 35, 3), np.uint8, seed=9)
    bgr = np.ascontiguousarray(image[..., ::-1])
    expected = cv2.fastNlMeansDenoisingColored(bgr, None, 18.0, 0.9 * 20, 7, 21)[..., ::-1]
    np.testing.assert_array_equal(call("ref:opencv-nlm", image, sigma=20.0, h=18.0), expected)


# (method, a bad parameter): planning alone must reject it, naming the parameter.
BAD_PARAMS = [
    ("ref:skimage-nlm", {"h": -1.0}), ("ref:skimage-nlm", {"patch_size": 0}),
    ("ref:skimage-nlm", {"patch_distance": 2.5}), ("ref:skimage-nlm", {"fast_mode": 1}),
    ("ref:skimage-bilateral", {"sigma_color": 0.0}),
    ("ref:skimage-bilateral", {"sigma_spatial": float("nan")}),
    ("ref:skimage-tv", {"weight": "big"}), ("ref:skimage-tv", {"max_iter": 0}),
    ("ref:skimage-wavelet", {"wavelet": "nope"}), ("ref:skimage-wavelet", {"wavelet": "morl"}),
    ("ref:skimage-wavelet", {"method": "SureShrink"}),
    ("ref:scipy-median", {"size": 4}), ("ref:scipy-median", {"size": 103}),
    ("ref:opencv-bilateral", {"sigma_color": -3.0}), ("ref:opencv-bilateral", {"diameter": 0}),
    ("ref:opencv-bilateral", {"sigma_space": True}),
    ("ref:opencv-median", {"size": 6}), ("ref:opencv-median", {"size": 257}),
    ("ref:opencv-nlm", {"h": 0.0}), ("ref:opencv-nlm", {"h_color": -1.0}),
    ("ref:opencv-nlm", {"template_size": 8}), ("ref:opencv-nlm", {"search_size": 0}),
    ("ref:bm3d", {"profile": "fast"}), ("ref:bm3d", {"profile": ["np"]}),
]


@pytest.mark.parametrize("name, bad", BAD_PARAMS,
                         ids=[f"{n}-{k}={v!r}" for n, p in BAD_PARAMS for k, v in p.items()])
def test_planning_rejects_a_bad_parameter_naming_it(name, bad):
    if name not in REGISTRY:
        pytest.skip(f"{name} not installed (bench extra)")
    (key, _), = bad.items()
    with pytest.raises(denoise.InvalidParameterError, match=key) as caught:
        REGISTRY[name].plan(ImageInfo.typical("uint8", 3), 20.0, **bad)
    assert not isinstance(caught.value, denoise.MissingSigmaError)


def test_every_adapter_has_a_bad_parameter_case():
    assert set(REFS) <= {name for name, _ in BAD_PARAMS}


# Halo at 8-bit sigma 20 with the default parameters (None: the whole image).
HALOS = {"ref:skimage-nlm": 5 // 2 + 6, "ref:skimage-bilateral": 6, "ref:skimage-tv": None,
         "ref:skimage-wavelet": None, "ref:scipy-median": 1, "ref:opencv-bilateral": 2,
         "ref:opencv-median": 1, "ref:opencv-nlm": 7 // 2 + 21 // 2, "ref:bm3d": None}


@pytest.mark.parametrize("name", REFS)
def test_halo_declared(name):
    plan = REGISTRY[name].plan(ImageInfo.typical("uint8", 3), 20.0)
    assert plan.halo == HALOS[name]


@pytest.mark.parametrize("name", [n for n in REFS if HALOS[n] is not None])
def test_pixels_beyond_the_halo_do_not_matter(name):
    """Changing a pixel just outside the halo leaves the centre output as it was
    (the value range, which some adapters fit on the whole image, is kept)."""
    image = 0.3 + 0.4 * random_image((45, 45), np.float64, seed=10)
    image[0, 0], image[0, 1] = 0.0, 1.0
    halo = REGISTRY[name].plan(ImageInfo.of(image), 0.1).halo
    moved = image.copy()
    moved[22, 22 + halo + 1] = 0.95
    before, after = call(name, image, sigma=0.1), call(name, moved, sigma=0.1)
    np.testing.assert_allclose(after[22, 22], before[22, 22], atol=1e-6)
    assert halo == 0 or not np.array_equal(after, before)


def test_planning_imports_no_optional_package():
    code = ("import sys, denoise; from denoise._image import ImageInfo; "
            "[s.plan(ImageInfo.typical('uint8', 3), 20.0) for s in denoise.REGISTRY.values()"
            " if s.is_reference]; print(sorted({'cv2', 'bm3d'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.skipif(not installed("bm3d"), reason="bm3d not installed (bench extra)")
def test_bm3d_planning_needs_sigma():
    with pytest.raises(denoise.MissingSigmaError, match="sigma"):
        REGISTRY["ref:bm3d"].plan(ImageInfo.typical("uint8", 1))
