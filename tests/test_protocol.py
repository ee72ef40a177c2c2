"""The method protocol: plan then apply, the declared halo, planning without filtering,
defaults from one source."""
import dataclasses

import numpy as np
import pytest

import denoise.filters.nlm as nlm_module
from denoise import InvalidParameterError
from denoise._image import ImageInfo
from denoise.cli import main
from denoise.io import write_image
from denoise.registry import REGISTRY, our_methods

from conftest import data_range, random_image

# Parameters that keep each method's halo small enough for a crop to be a real test.
SMALL = {"lark": dict(h=1.5, radius=3, analysis_radius=2, max_iterations=3),
         "attention": dict(search=3, patch=3, group=5, stride=2, patch2=3, group2=12,
                           stride2=3, pca_dims=4, pca_dims2=3, position="steer")}


def smooth_noisy(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]]
    clean = 0.5 + 0.3 * np.sin(rows / 5.0) * np.cos(cols / 7.0) + 0.2 * (cols > shape[1] // 2)
    clean = clean[..., None] * np.ones(shape[2:] or (1,)) if len(shape) == 3 else clean
    noisy = np.clip(clean + rng.normal(0, 0.1, clean.shape), 0, 1) * data_range(dtype)
    return (np.rint(noisy) if np.dtype(dtype).kind == "u" else noisy).astype(dtype)


def crops(shape, halo, rng, n):
    """n random boxes (some at the borders) and the box grown by halo, within the image."""
    height, width = shape[:2]
    for k in range(n):
        r0, c0 = (0, 0) if k == 0 else rng.integers(0, (height - 5, width - 5))
        r1 = height if k == 1 else min(height, r0 + rng.integers(1, 20))
        c1 = width if k == 1 else min(width, c0 + rng.integers(1, 16))
        grown = (max(0, r0 - halo), min(height, r1 + halo), max(0, c0 - halo),
                 min(width, c1 + halo))
        yield (r0, r1, c0, c1), grown


@pytest.mark.parametrize("shape, dtype", [((67, 53), np.float32), ((59, 61, 3), np.uint8)])
@pytest.mark.parametrize("name", our_methods())
def test_crop_padded_by_the_halo_reproduces_the_image(name, shape, dtype):
    """Filtering a crop grown by the plan's halo (within the image) gives exactly the
    full image's result inside the crop. Methods with image-level statistics (lark:
    the iteration count of the stopping rule and the clipping range) have them
    fitted on the whole image and held fixed, as tiles will. Methods whose result
    depends on a pixel's place in the frame (attention's reference grid) are told
    where the crop lies."""
    spec = REGISTRY[name]
    image = smooth_noisy(shape, dtype, seed=len(name))
    plan = spec.plan(ImageInfo.of(image), 0.1 * data_range(dtype), **SMALL.get(name, {}))
    if plan.statistics:
        work = image.astype(np.float32) / np.float32(data_range(dtype))
        plan = spec.fit(work if work.ndim == 3 else work[..., None], plan)
        assert plan.statistics == ()
    assert plan.halo is not None and 0 < plan.halo < min(shape[:2]) // 2
    full = spec.run(image, plan)
    rng = np.random.default_rng(7)
    for (r0, r1, c0, c1), (a0, a1, b0, b1) in crops(shape, plan.halo, rng, 6):
        out = spec.run(image[a0:a1, b0:b1], spec.place(plan, a0, b0))
        np.testing.assert_array_equal(out[r0 - a0:r1 - a0, c0 - b0:c1 - b0],
                                      full[r0:r1, c0:c1], err_msg=f"{(r0, r1, c0, c1)}")


def test_a_smaller_halo_is_not_enough():
    """The test above can fail: one pixel less of context changes the crop's edge."""
    spec = REGISTRY["nlm"]
    image = smooth_noisy((67, 53), np.float32, seed=1)
    plan = spec.plan(ImageInfo.of(image), 0.1)
    full = spec.run(image, plan)
    h = plan.halo - 1
    out = spec.run(image[20 - h:40 + h, 20 - h:30 + h], plan)
    assert not np.array_equal(out[h:h + 20, h:h + 10], full[20:40, 20:30])


BAD = {
    "nlm": [("patch_radius", 11), ("search_radius", 0), ("h", -1.0), ("aggregate", "mean")],
    "bilateral": [("sigma_range", 0.0), ("sigma_spatial", -1.0), ("radius", 51),
                  ("pilot", "yes")],
    "median": [("radius", -1), ("radius", 1.5)],
    "adaptive-median": [("max_radius", 0), ("min_radius", 5)],
    "weighted-median": [("patch", 6), ("search", 0), ("h", -2.0), ("prefilter", "no"),
                        ("correlation", 1)],
    "attention": [("stages", 0), ("patch", 8), ("group", 0), ("stride", 12), ("search", 0),
                  ("patch2", 0), ("group2", 1.5), ("stride2", 0), ("value", "mean"),
                  ("affine", 1), ("alpha", 0.0), ("beta", -1.0), ("weights", "mean"),
                  ("h", -1.0), ("aggregate", "pixel"), ("aggregate", "block"),
                  ("position", "left"), ("width", 0.0), ("pca_dims", -1), ("pca_dims", 82),
                  ("pca_dims2", 50), ("seed", -1), ("seed", 0.5)],
    "lark": [("order", 3), ("radius", 0), ("h", -1.0), ("iterations", 0), ("alpha", 3.0),
             ("lam", 0.0), ("max_iterations", 0), ("analysis_radius", 0), ("steering", 1)],
}


def never(*args, **kwargs):
    raise AssertionError("a filter ran")


@pytest.fixture
def no_filtering(monkeypatch):
    """Every method of ours, with apply and fit that fail if they are ever called."""
    for name in our_methods():
        monkeypatch.setitem(REGISTRY, name, dataclasses.replace(
            REGISTRY[name], apply=never, fit=never if REGISTRY[name].fit else None))


def test_every_method_has_bad_parameter_cases():
    assert set(BAD) == set(our_methods())


@pytest.mark.parametrize("name, key, value", [(n, k, v) for n, cases in BAD.items()
                                              for k, v in cases] +
                         [(n, "nope", 1) for n in sorted(BAD)])
def test_planning_rejects_bad_parameters_without_filtering(no_filtering, name, key, value):
    for dtype, channels in (("uint8", 1), ("uint16", 3), ("float32", 1)):
        info = ImageInfo.typical(dtype, channels)
        with pytest.raises(InvalidParameterError, match=key):
            REGISTRY[name].plan(info, 25.0 * info.data_range / 255, **{key: value})


@pytest.mark.parametrize("name", sorted(BAD))
def test_cli_rejects_a_bad_parameter_before_any_file(no_filtering, runner, tmp_path, name):
    write_image(tmp_path / "in" / "a.tif", random_image((20, 21), np.uint16, seed=1))
    key, value = BAD[name][0]
    result = runner.invoke(main, ["run", str(tmp_path / "in"), "-o", str(tmp_path / "out"),
                                  "-m", name, "--sigma", "4000", "-p", f"{key}={value}"])
    assert result.exit_code == 2, result.output
    assert key in result.stderr and "a.tif" in result.stderr
    assert not (tmp_path / "out").exists()


def test_planning_uses_the_files_range(runner, tmp_path):
    """Sigma 25 is nothing on a 16-bit file: nlm's defaults follow the file's range."""
    spec = REGISTRY["nlm"]
    eight = spec.plan(ImageInfo.typical("uint8"), 25.0)
    sixteen = spec.plan(ImageInfo.typical("uint16"), 25.0 * 257)
    tiny = spec.plan(ImageInfo.typical("uint16"), 25.0)
    assert eight.params["patch_radius"] == sixteen.params["patch_radius"] == 3
    assert tiny.params["patch_radius"] == 2 and tiny.params["h"] == pytest.approx(0.55 * 25)


def test_defaults_come_from_the_signature_and_the_rule():
    """Constants are the signature's (shown by `methods` before any sigma); only what
    depends on sigma, channels or range is None there and derived by the rule."""
    for name in our_methods():
        spec = REGISTRY[name]
        derived = [p.name for p in spec.params if p.default is None]
        values = spec.resolve(ImageInfo.typical(), 25.0)
        for p in spec.params:
            if p.default is not None:
                assert values[p.name] == p.default, (name, p.name)
        assert all(values[k] is not None for k in derived if k != "iterations"), name


def test_methods_tables_come_from_the_rules(runner, monkeypatch):
    before = runner.invoke(main, ["methods", "nlm"]).stdout
    assert "patch_radius" in before and "gray" in before and "color" in before
    monkeypatch.setattr(nlm_module, "GRAY_TABLE", ((np.inf, 6, 0.9),))
    after = runner.invoke(main, ["methods", "nlm"]).stdout
    assert after != before
    gray_25 = next(line for line in after.splitlines() if line.split()[:2] == ["gray", "25"])
    assert gray_25.split()[2:] == ["6", "22.5"]
    assert "patch_radius=6" in after           # the values a call uses follow too


def test_methods_shows_the_values_a_call_uses(runner):
    result = runner.invoke(main, ["methods", "nlm", "--sigma", "6425", "--dtype", "uint16",
                                  "--channels", "3"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "512x512 16-bit RGB" in text and "--sigma 6425" in text
    assert "patch_radius=1, search_radius=7, h=3534" in text and "halo 9 px" in text
    lark = runner.invoke(main, ["methods", "lark"]).stdout
    assert "fitted on the whole image: iterations, value range" in lark


def test_camera_pair_scores_against_its_truth():
    """noisy_pair gives the camera model's own truth (the clean image processed the same
    way, cropped to even sizes); other models give the clean image itself."""
    from denoise.protocol import noisy_pair

    clean = np.random.default_rng(3).random((17, 20, 3)) * 255
    noisy, truth = noisy_pair(clean, 1.0, 4, "camera", 255.0)
    assert noisy.shape == truth.shape == (16, 20, 3)
    assert not np.allclose(truth, clean[:16])
    plain, same = noisy_pair(clean, 10.0, 4)
    assert same is clean and plain.shape == clean.shape
