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


NLM_CUTOFF = 30.0


def nlm(work, *, patch_radius, search_radius, h, sigma, block):
    """Non-local means of an (H, W, C) float array straight from the definition, float64.

    Patches are compared jointly over channels after mirror padding; weight
    exp(-max(d2/N - 2 sigma^2, 0) / h^2), 0 when that exponent exceeds the cutoff;
    the centre weight is the largest other weight (1 if all are 0). Blockwise: each
    pixel averages the patch estimates of the patches (centred in the image) that
    cover it.
    """
    work = np.asarray(work, dtype=np.float64)
    height, width, channels = work.shape
    f, d = patch_radius, search_radius
    m = f + d
    pad = np.pad(work, ((m, m), (m, m), (0, 0)), mode="symmetric")
    n = channels * (2 * f + 1) ** 2

    def patch(i, j):                       # padded coordinates of the centre
        return pad[i - f:i + f + 1, j - f:j + f + 1]

    estimates = np.zeros((height, width, 2 * f + 1, 2 * f + 1, channels))
    pixel = np.empty_like(work)
    for i in range(height):
        for j in range(width):
            own = patch(i + m, j + m)
            weights, patches = [], []
            for di in range(-d, d + 1):
                for dj in range(-d, d + 1):
                    if di == 0 and dj == 0:
                        continue
                    other = patch(i + m + di, j + m + dj)
                    y = max(np.sum((own - other) ** 2) / n - 2 * sigma ** 2, 0.0) / h ** 2
                    weights.append(np.exp(-y) if y < NLM_CUTOFF else 0.0)
                    patches.append(other)
            centre = max(weights) or 1.0
            weights = np.array([centre] + weights)
            patches = np.array([own] + patches)
            estimate = np.tensordot(weights, patches, axes=1) / weights.sum()
            estimates[i, j] = estimate
            pixel[i, j] = estimate[f, f]
    if not block:
        return pixel
    total = np.zeros_like(work)
    count = np.zeros((height, width, 1))
    for i in range(height):
        for j in range(width):
            for a in range(-f, f + 1):
                for b in range(-f, f + 1):
                    if 0 <= i + a < height and 0 <= j + b < width:
                        total[i + a, j + b] += estimates[i, j, a + f, b + f]
                        count[i + a, j + b] += 1
    return total / count
