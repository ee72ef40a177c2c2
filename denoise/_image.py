"""The image contract: what arrays the filters accept, and the float32 working form.

Every filter calls :func:`to_working` first and :func:`from_working` last, so dtype,
channel and alpha policy live here and nowhere else. Order statistics (the median
family), which must not leave the image's own dtype, go through :func:`map_planes`.

* ``(H, W)`` is gray; ``(H, W, C)`` is channels-last with C in 1..4. C = 2 is
  gray + alpha and C = 4 is RGBA: the last channel is alpha, split off here and
  put back untouched.
* The data range (:func:`image_range`) is what an image's values span: 255 for
  uint8 and 65535 for uint16; for float images it is read from the values (1, 255,
  65535 or the largest magnitude, see :func:`float_range`) unless the caller gives
  one. Every intensity (a sigma, a filtering strength) is in the image's units, and
  the working array is the image divided by its data range, so a method sees the
  same numbers whether a float image is on [0, 1], [0, 255] or [0, 65535], and
  float values near the float32 limits never reach its arithmetic.
* The working array is always a new float32 C-contiguous ``(H, W, C)`` array, so a
  filter can never modify its input.
* Output keeps the input dtype: integers by round-and-clip, float16 becomes float32
  (clipped to float32's finite range).
"""
import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .errors import ImageFormatError, InvalidParameterError

_INT_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16))
_FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
#: A float image's data range is the smallest of these whose HEADROOM times holds every
#: magnitude (room for noise above 1.0, and for dim images), else its largest magnitude.
FLOAT_RANGES = (1.0, 255.0, 65535.0)
HEADROOM = 4.0
#: The largest magnitude a given data range may be exceeded by (working values stay
#: far from float32's limits).
RANGE_EXCESS = 1e6


@dataclass(frozen=True)
class Layout:
    """What :func:`to_working` removed or changed, so :func:`from_working` can undo it."""

    dtype: np.dtype
    data_range: float          # image units per working unit (the image's data range)
    added_axis: bool           # the input was (H, W); an axis was added
    alpha: Optional[np.ndarray]  # (H, W, 1) in the input dtype, or None


@dataclass(frozen=True)
class ImageInfo:
    """What an image is, as far as planning a method needs: size, channels, dtype.

    Made from an array (:meth:`of`) or from a file's header (``io.read_info``),
    so a method can be planned, and its parameters checked, before any pixel is
    read. `channels` counts color channels only; `alpha` says one more rides along.
    `data_range` is what the values span (:func:`image_range`); 0 when not given
    stands for the dtype's nominal range (255, 65535, 1.0).
    """

    height: int
    width: int
    channels: int
    dtype: np.dtype
    alpha: bool = False
    data_range: float = 0.0

    def __post_init__(self):
        if not self.data_range:
            object.__setattr__(self, "data_range", data_range_of(self.dtype))

    @classmethod
    def of(cls, image, data_range=None):
        """The info of an array, its data range given or read from its values
        (:func:`image_range`); raises ImageFormatError if it is no supported image."""
        check_image(image)
        return cls.from_shape(image.shape, image.dtype, image_range(image, data_range))

    @classmethod
    def from_shape(cls, shape, dtype, data_range=None):
        """The info of an image of this shape and dtype (from a file's header, say),
        of the given data range (default: the dtype's nominal one); raises
        ImageFormatError unless it is a supported one."""
        check_layout(shape, dtype)
        total = 1 if len(shape) == 2 else shape[2]
        alpha = total in (2, 4)
        return cls(int(shape[0]), int(shape[1]), total - alpha, np.dtype(dtype), alpha,
                   float(data_range or 0.0))

    @classmethod
    def typical(cls, dtype="uint8", channels=1, height=512, width=512):
        """An image that is not there: for describing defaults and compiling ahead."""
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise ImageFormatError(f"unknown dtype {dtype!r}; use uint8, uint16, float16, "
                                   f"float32 or float64") from None
        data_range_of(dtype)
        if channels not in (1, 3):
            raise InvalidParameterError(f"channels must be 1 (gray) or 3 (color), "
                                        f"got {channels!r}")
        return cls(int(height), int(width), int(channels), dtype)

    @property
    def color(self):
        """True for color (three channels), false for gray."""
        return self.channels > 1

    def describe(self):
        """E.g. "512x512 8-bit gray", "64x48 float32 RGB + alpha" or, with a data range
        other than the dtype's, "64x48 float32 gray (range 255)"."""
        bits = {"uint8": "8-bit", "uint16": "16-bit"}.get(self.dtype.name, self.dtype.name)
        kind = "gray" if self.channels == 1 else "RGB"
        text = f"{self.width}x{self.height} {bits} {kind}{' + alpha' if self.alpha else ''}"
        if self.data_range != data_range_of(self.dtype):
            text += f" (range {self.data_range:g})"
        return text


def data_range_of(dtype):
    """Nominal data range of a dtype: 255 (uint8), 65535 (uint16), 1.0 (float)."""
    dtype = np.dtype(dtype)
    if dtype in _INT_DTYPES:
        return float(np.iinfo(dtype).max)
    if dtype in _FLOAT_DTYPES:
        return 1.0
    raise ImageFormatError(
        f"unsupported dtype {dtype}; use uint8, uint16, float16, float32 or float64")


def float_range(peak):
    """The data range of float values whose largest magnitude is `peak`: 1, 255 or
    65535, the smallest whose :data:`HEADROOM` (4) times holds `peak` (noisy [0, 1]
    data reach above 1, a dim 8-bit image stays below 255), else `peak` itself."""
    peak = float(peak)
    return next((top for top in FLOAT_RANGES if peak <= HEADROOM * top), peak)


def check_data_range(value, peak=None):
    """A given data range as a float: finite and > 0, and (with the image's largest
    magnitude `peak`) not exceeded more than :data:`RANGE_EXCESS` times."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not math.isfinite(value) or not value > 0:
        raise InvalidParameterError(f"data range must be a finite number > 0, got {value!r}")
    if peak is not None and peak > RANGE_EXCESS * value:
        raise InvalidParameterError(
            f"data range {value:g} is too small for values up to {peak:g} (at most "
            f"{RANGE_EXCESS:g} times the range); give a larger one or none")
    return float(value)


def peak_of(image):
    """The largest magnitude of an image's color values (alpha aside), as a float."""
    color, _ = split_alpha(image[..., None] if image.ndim == 2 else image)
    if color.size == 0:
        return 0.0
    return float(max(np.abs(color.max()), np.abs(color.min())))


def image_range(image, data_range=None):
    """The data range of `image`: `data_range` if given (checked), else 255 / 65535
    for uint8 / uint16 and :func:`float_range` of the values for float images."""
    if data_range is not None:
        return check_data_range(data_range, peak_of(image) if image.dtype.kind == "f"
                                else None)
    if image.dtype.kind != "f":
        return data_range_of(image.dtype)
    return float_range(peak_of(image))


def check_layout(shape, dtype):
    """Raise ImageFormatError unless an image of `shape` and `dtype` is supported."""
    data_range_of(dtype)
    shape = tuple(shape)
    if len(shape) not in (2, 3):
        raise ImageFormatError(f"image must be 2-D (H, W) or 3-D (H, W, C), got shape {shape}")
    if len(shape) == 3 and not 1 <= shape[2] <= 4:
        raise ImageFormatError(
            f"image must have 1 to 4 channels (last axis), got shape {shape}")
    if shape[0] == 0 or shape[1] == 0:
        raise ImageFormatError(f"image is empty (shape {shape})")


def check_image(image):
    """Raise ImageFormatError unless `image` is a supported, non-empty, finite image."""
    if not isinstance(image, np.ndarray):
        raise ImageFormatError(f"image must be a numpy array, got {type(image).__name__}")
    check_layout(image.shape, image.dtype)
    # min and max are NaN or infinite if any value is (and need no boolean array)
    if image.dtype.kind == "f" and image.size and \
            not (np.isfinite(image.min()) and np.isfinite(image.max())):
        raise ImageFormatError("image contains NaN or Inf values")


def split_alpha(image):
    """Return ``(color, alpha)`` of an (H, W, C) array; alpha is None unless C is 2 or 4."""
    if image.ndim == 3 and image.shape[2] in (2, 4):
        return image[..., :-1], image[..., -1:]
    return image, None


def to_working(image, data_range=None):
    """Check `image` and return ``(work, layout)``: float32 (H, W, C) without alpha, the
    image divided by its data range (given, e.g. a plan's, else :func:`image_range`)."""
    check_image(image)
    data_range = image_range(image, data_range)
    added_axis = image.ndim == 2
    arr = image[..., None] if added_axis else image
    color, alpha = split_alpha(arr)
    if image.dtype == np.float64 and data_range != 1.0:
        work = np.ascontiguousarray(color / data_range, dtype=np.float32)   # no overflow
    else:
        work = np.ascontiguousarray(color, dtype=np.float32)
        if work is color or np.shares_memory(work, image):
            work = work.copy()
        if data_range != 1.0:
            work *= np.float32(1.0 / data_range)
    alpha = None if alpha is None else alpha.copy()
    return work, Layout(image.dtype, data_range, added_axis, alpha)


def from_working(out, layout):
    """Undo :func:`to_working`: restore the data range, dtype (round and clip
    integers), alpha and shape."""
    if layout.data_range != 1.0:
        out = out.astype(np.float64) * layout.data_range
    return from_units(out, layout)


def from_units(values, layout):
    """Values already in the image's units (0-255 for uint8...) back to `layout`'s
    dtype (integers rounded and clipped to the data range), alpha and shape."""
    dtype = layout.dtype
    if dtype in _INT_DTYPES:
        result = np.clip(np.rint(values), 0, np.iinfo(dtype).max).astype(dtype)
    elif dtype == np.float64:
        result = values.astype(np.float64)
    else:
        if values.dtype == np.float64:     # a float32 image's scaled values stay finite
            top = float(np.finfo(np.float32).max)
            values = np.clip(values, -top, top)
        result = values.astype(np.float32, copy=False)
    if layout.alpha is not None:
        alpha = layout.alpha.astype(result.dtype, copy=False)
        result = np.concatenate([result, alpha], axis=2)
    if layout.added_axis:
        result = result[..., 0]
    return result


def intensity_to_working(value, layout):
    """Convert an intensity (a sigma, a range) from image units to working units."""
    return float(value) / layout.data_range


def map_planes(image, func):
    """Apply `func` to each color plane of `image` (alpha untouched), in its own dtype.

    float16 runs and comes back as float32, like every filter's output.
    """
    arr = image[..., None] if image.ndim == 2 else image
    color, alpha = split_alpha(arr)
    dtype = np.float32 if image.dtype == np.float16 else image.dtype
    if image.ndim == 2:
        return func(np.ascontiguousarray(image, dtype=dtype))
    out = np.empty(color.shape, dtype)
    for c in range(color.shape[2]):
        out[..., c] = func(np.ascontiguousarray(color[..., c], dtype=dtype))
    if alpha is not None:
        out = np.concatenate([out, alpha.astype(dtype)], axis=2)
    return out[..., 0] if image.ndim == 2 else out
