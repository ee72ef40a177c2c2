"""Helpers shared by the filter wrappers: borders in one convention (padding, index maps)."""
import functools

import numpy as np


def pad_reflect(work, radius):
    """Pad an (H, W, C) array by `radius` on both image axes, mirroring at the edge.

    The edge pixel is repeated (``d c b a | a b c d | d c b a``): scipy.ndimage's
    ``mode='reflect'``, numpy's ``'symmetric'``. Works for any radius and image size.
    """
    return np.pad(work, ((radius, radius), (radius, radius), (0, 0)), mode="symmetric")


@functools.lru_cache(maxsize=64)
def reflect_index(n, radius):
    """Source index of each padded index -radius..n+radius-1 (scipy ``mode='reflect'``).

    Cached (images of one size come in batches): callers must not modify it.
    """
    folded = np.arange(-radius, n + radius, dtype=np.int64) % (2 * n)
    return np.where(folded >= n, 2 * n - 1 - folded, folded)
