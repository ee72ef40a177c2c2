"""Property-based fuzzing of every registered method through its public function.

Every call ``REGISTRY[name].func(image, sigma=..., **params)`` must either return
an array of the input's shape and dtype whose values are all finite, leaving the
input untouched (and, for this project's methods, without a numerical
RuntimeWarning: an overflow or 0/0 a later step hid), or raise a documented error (a :class:`denoise.DenoiseError`)
whose message names the parameter or the problem. Anything else (another
exception, a wrong shape or dtype, NaN or Inf in the output) is a defect.

Profiles: "ci" (the default, 25 examples per method and test, derandomized so a
run is reproducible) and "fuzz" (``DENOISE_FUZZ=1``, ``make fuzz``: 10000, or
``DENOISE_FUZZ_EXAMPLES``) per method and property. Slow methods run on smaller
images and a fraction of the examples (``SLOW``), at least 10,000 per method
over the three properties.
"""
import collections
import math
import os
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from denoise import ImageInfo
from denoise.errors import DenoiseError, ImageFormatError
from denoise.registry import REGISTRY

settings.register_profile(
    "ci", max_examples=25, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "fuzz", max_examples=int(os.environ.get("DENOISE_FUZZ_EXAMPLES", 10_000)), deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("fuzz" if os.environ.get("DENOISE_FUZZ") else "ci")

METHODS = sorted(REGISTRY)
VALID_DTYPES = [np.uint8, np.uint16, np.float32, np.float64]
INVALID_DTYPES = [np.bool_, np.int8, np.complex64, np.complex128]
MAX_SIDE = 24
# Slow methods: smaller images and a fraction of the profile's examples, each still
# above 10,000 over its three properties under `make fuzz`.
# ref:bm3d takes 0.3-1 s per call whatever the size.
SLOW = {"ref:bm3d": (8, 0.34), "attention": (16, 0.5), "lark": (16, 0.5)}
EXTREMES = [0.0, 1.0, -1.0, 1e-30, -1e-30, 1e30, -1e30]
# Words an ImageFormatError message uses to say what is wrong with the image.
IMAGE_WORDS = ("image", "dtype", "shape", "channel")


#: Examples run per method: {name: Counter(returned=..., refused=...)}, printed at the
#: end of the session (conftest.py), so `make fuzz` says what it ran.
COUNTS = collections.defaultdict(collections.Counter)


def side_and_budget(name):
    side, fraction = SLOW.get(name, (MAX_SIDE, 1.0))
    return side, max(2, int(settings.default.max_examples * fraction))


def data_range(dtype):
    dtype = np.dtype(dtype)
    return float(np.iinfo(dtype).max) if dtype.kind == "u" else 1.0


def choices(spec, param):
    """The valid values of a str parameter, read from the error an invalid one raises
    ("must be one of a, b, c" or "must be a or b"); the default alone if unreadable."""
    try:
        spec.plan(ImageInfo.typical(), 25.0, **{param.name: "\x00invalid"})
    except DenoiseError as exc:
        text = str(exc)
        found = re.search(r"must be one of (.+?), got", text)
        if found:
            return found.group(1).split(", ")
        found = re.search(r"must be (\w+) or (\w+), got", text)
        if found:
            return list(found.groups())
    return [] if param.default is None else [param.default]


# --- strategies ------------------------------------------------------------------------

@st.composite
def shapes(draw, max_side, channels=True):
    """(H, W) or (H, W, C), C in 1..4: from 1x1 up, thin 1xN and Nx1 included."""
    kind = draw(st.sampled_from(["any", "row", "column"]))
    height = 1 if kind == "row" else draw(st.integers(1, max_side))
    width = 1 if kind == "column" else draw(st.integers(1, max_side))
    count = draw(st.sampled_from([None, 1, 2, 3, 4])) if channels else None
    return (height, width) if count is None else (height, width, count)


@st.composite
def valid_images(draw, max_side):
    """Random, constant or saturated (0 and the maximum) images of a supported dtype."""
    dtype = np.dtype(draw(st.sampled_from(VALID_DTYPES)))
    shape = draw(shapes(max_side))
    top = data_range(dtype)
    kind = draw(st.sampled_from(["random", "constant", "saturated"]))
    if kind == "random":
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        if dtype.kind == "u":
            return rng.integers(0, int(top) + 1, size=shape, dtype=dtype)
        return rng.random(shape).astype(dtype)
    if kind == "constant":
        value = draw(st.floats(0, top)) if dtype.kind == "f" else draw(st.integers(0, int(top)))
        return np.full(shape, value, dtype)
    return draw(hnp.arrays(dtype, shape, elements=st.sampled_from([0, top]),
                           fill=st.sampled_from([0, top])))


@st.composite
def extreme_images(draw, max_side):
    """float images of values like +-1e30, +-1e-30, 0 and 1."""
    dtype = np.dtype(draw(st.sampled_from([np.float32, np.float64])))
    return draw(hnp.arrays(dtype, draw(shapes(max_side)), elements=st.sampled_from(EXTREMES),
                           fill=st.sampled_from(EXTREMES)))


@st.composite
def invalid_images(draw, max_side):
    """bool, int8 or complex images, and float images holding NaN or Inf."""
    shape = draw(shapes(max_side))
    if draw(st.booleans()):
        dtype = np.dtype(draw(st.sampled_from(INVALID_DTYPES)))
        return np.zeros(shape, dtype), "dtype"
    dtype = np.dtype(draw(st.sampled_from([np.float32, np.float64])))
    image = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).random(shape).astype(dtype)
    index = tuple(draw(st.integers(0, n - 1)) for n in shape)
    image[index] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    return image, "NaN"


def sigmas(dtype):
    """A positive finite sigma in the image's units (three times in five), None, or an
    invalid one."""
    top = data_range(dtype)
    valid = st.one_of(st.floats(1e-4, 2.0).map(lambda f: f * top), st.just(1e-30 * top))
    invalid = st.sampled_from([0.0, -1.0, -top, 1e7 * top, 1e300, math.nan, math.inf])
    return st.sampled_from(["valid"] * 3 + ["none", "invalid"]).flatmap(
        lambda kind: valid if kind == "valid" else invalid if kind == "invalid"
        else st.none())


def param_values(spec, param, dtype, valid_only=False):
    """A valid value from the parameter's type, or (unless `valid_only`) an invalid one
    (range or type)."""
    top = data_range(dtype) if "image's units" in param.description else 1.0
    if param.type is bool:
        valid, invalid = st.booleans(), st.sampled_from([0, 1, "yes"])
    elif param.type is int:
        valid = st.integers(0, 12)
        invalid = st.sampled_from([-1, 10**9, 2.5, True, "3"])
    elif param.type is float:
        valid = st.floats(1e-3, 1e3).map(lambda f: f * top)
        invalid = st.sampled_from([0.0, -1.0, 1e300, math.nan, math.inf, True, "1"])
    else:
        options = choices(spec, param)
        valid = st.sampled_from(options) if options else st.just("zz")
        invalid = st.sampled_from(["", "zz", 3])
    if param.default is not None:                     # None is "derive it" otherwise
        invalid = st.one_of(invalid, st.none())
    return valid if valid_only else st.one_of(valid, invalid)


@st.composite
def params(draw, spec, dtype):
    """Each parameter left at its default or drawn: in three examples of four from the
    values of its type (so that methods of many parameters often get all of them
    plausible, not one bad one among them), else valid or invalid."""
    valid_only = draw(st.sampled_from([True, True, True, False]))
    out = {}
    for param in spec.params:
        if draw(st.booleans()):
            out[param.name] = draw(param_values(spec, param, dtype, valid_only))
    return out


# --- the property ----------------------------------------------------------------------

def call(spec, image, sigma, given):
    """Call the method; check the result or that the error is documented and explicit.
    Returns the output, or the DenoiseError raised."""
    before = image.copy()
    try:
        with warnings.catch_warnings():
            if not spec.is_reference:     # ours: no overflow or 0/0 hidden by a later step
                warnings.simplefilter("error", RuntimeWarning)
            out = spec.func(image, sigma=sigma, **given)
    except DenoiseError as exc:
        message = str(exc)
        words = IMAGE_WORDS if isinstance(exc, ImageFormatError) else \
            ["sigma"] + [p.name for p in spec.params]
        assert any(word in message for word in words), \
            f"{type(exc).__name__} names neither a parameter nor the problem: {message}"
        COUNTS[spec.name]["refused"] += 1
        return exc
    finally:
        np.testing.assert_array_equal(image, before, err_msg="the input was modified")
    assert isinstance(out, np.ndarray), type(out)
    assert out.shape == image.shape, (out.shape, image.shape)
    assert out.dtype == image.dtype, (out.dtype, image.dtype)
    assert np.isfinite(out).all(), f"non-finite output: {out!r}"
    COUNTS[spec.name]["returned"] += 1
    return out


def fuzz(name, body):
    """Run `body(spec, data, max_side)` under the method's budget."""
    spec = REGISTRY[name]
    side, budget = side_and_budget(name)

    @settings(max_examples=budget)
    @given(data=st.data())
    def check(data):
        body(spec, data, side)

    check()


@pytest.mark.parametrize("name", METHODS)
def test_valid_images_and_random_parameters(name):
    def body(spec, data, side):
        image = data.draw(valid_images(side), label="image")
        sigma = data.draw(sigmas(image.dtype), label="sigma")
        call(spec, image, sigma, data.draw(params(spec, image.dtype), label="params"))
    fuzz(name, body)


@pytest.mark.parametrize("name", METHODS)
def test_extreme_values(name):
    def body(spec, data, side):
        image = data.draw(extreme_images(side), label="image")
        sigma = data.draw(st.one_of(st.none(), st.floats(1e-4, 2.0)), label="sigma")
        call(spec, image, sigma, {})
    fuzz(name, body)


@pytest.mark.parametrize("name", METHODS)
def test_invalid_images_rejected(name):
    def body(spec, data, side):
        image, problem = data.draw(invalid_images(side), label="image")
        sigma = data.draw(st.floats(1e-4, 2.0), label="sigma")
        before = image.copy()
        with pytest.raises(ImageFormatError, match=problem):
            spec.func(image, sigma=sigma)
        np.testing.assert_array_equal(image, before, err_msg="the input was modified")
        COUNTS[spec.name]["refused"] += 1
    fuzz(name, body)
