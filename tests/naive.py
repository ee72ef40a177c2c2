"""Slow, direct-formula references for the fast kernels (one loop per pixel)."""
import numpy as np
from scipy import ndimage


def reflect_index(k, n):
    """Index into [0, n) mirroring with the edge repeated (scipy 'reflect')."""
    period = 2 * n
    k = k % period
    return k if k < n else period - 1 - k


def bilateral(work, *, sigma_spatial, sigma_range, radius, pilot):
    """Bilateral of an (H, W, C) float array straight from the definition, float64.

    `sigma_range` is in the array's units; the guide is the 3x3 box mean
    (scipy uniform_filter, reflect) when `pilot`, else the image itself.
    """
    work = np.asarray(work, dtype=np.float64)
    height, width, channels = work.shape
    guide = ndimage.uniform_filter(work, size=(3, 3, 1), mode="reflect") if pilot else work
    out = np.empty_like(work)
    for i in range(height):
        for j in range(width):
            num = np.zeros(channels)
            den = 0.0
            for di in range(-radius, radius + 1):
                for dj in range(-radius, radius + 1):
                    q = reflect_index(i + di, height), reflect_index(j + dj, width)
                    d2 = np.sum((guide[q] - guide[i, j]) ** 2)
                    w = np.exp(-(di * di + dj * dj) / (2 * sigma_spatial ** 2)) \
                        * np.exp(-d2 / (2 * sigma_range ** 2))
                    num += w * work[q]
                    den += w
            out[i, j] = num / den
    return out
