"""Compile the methods' kernels ahead of the first run (``denoise warmup``)."""
import time

import numpy as np

from ._config import on_compile
from ._image import ImageInfo
from .registry import get_filter


def warm_up(names, dtypes=("uint8", "uint16"), sigma=25.0, compiling=None):
    """Run each method at its defaults on small gray and color images of each dtype,
    so that its kernels are compiled and cached.

    `sigma` is in 8-bit units, scaled to each dtype's range. Yields ``(name,
    seconds, compiled)`` per method: compiled is false when every kernel came
    from the cache. ``compiling(name)`` is called when a method's compilation starts.
    """
    infos = [ImageInfo.typical(d, c, 40, 48) for d in dtypes for c in (1, 3)]
    for name in names:
        spec = get_filter(name)
        compiled = []

        def started(name=name):
            compiled.append(True)
            if compiling is not None:
                compiling(name)

        start = time.perf_counter()
        with on_compile(started):
            for index, info in enumerate(infos):
                image = _noise_image(info, seed=index)
                spec.run(image, spec.plan(info, sigma * info.data_range / 255.0))
        yield name, time.perf_counter() - start, bool(compiled)


def _noise_image(info, seed):
    """A smooth ramp plus noise, in `info`'s dtype and channels."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:info.height, 0:info.width]
    ramp = (x + y) / (info.height + info.width)
    values = np.clip(ramp[..., None] + rng.normal(0, 0.1, (*ramp.shape, info.channels)), 0, 1)
    values = values * info.data_range
    if info.dtype.kind == "u":
        values = np.rint(values)
    image = values.astype(info.dtype)
    return image[..., 0] if info.channels == 1 else image
