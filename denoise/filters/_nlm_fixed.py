"""NL-means with OpenCV's weighting, on nlm's band machinery: the centre pixel
weighed by a constant and weights below a floor dropped (nlm weighs the centre by
the largest other weight), borders mirrored without repeating the edge. Used by
the OpenCV drop-in calls (:mod:`denoise.compat.cv2`).
"""
import numpy as np
from numba import njit

from .._config import kernel_cache, run_bands
from ._weights import EXACT, half_offsets, pad_band, patch_weights, weight_field
from .nlm import BAND, _accumulate, _buffers

with kernel_cache():
    @njit(cache=True, nogil=True, fastmath=EXACT)
    def _fixed_centre_band(band, work, out, pw, offsets, rows, cols, centre, floor, buf):
        """Pixelwise NL-means of rows band * BAND .. of `work` (H, W, C) into `out`,
        the centre weighing `centre`, weights below `floor` dropped."""
        height, width, n_channels = work.shape
        m, d = pw.f + pw.d, pw.d
        r0 = band * BAND
        n_rows = min(height, r0 + BAND) - r0
        pad_band(work, r0, n_rows, m, rows, cols, buf.pb)
        sums = buf.sums
        sums[:] = 0.0
        wt = buf.wt
        for k in range(offsets.shape[0]):
            tr, tc = offsets[k, 0], offsets[k, 1]
            weight_field(buf.pb, pw, tr, tc, n_rows, wt, buf.field, buf.dist)
            for i in range(wt.shape[0]):
                row = wt[i]
                for j in range(row.shape[0]):
                    row[j] = row[j] if row[j] >= floor else np.float32(0.0)
            for x in range(n_rows):
                _accumulate(buf.pb, wt, x, tr, tc, m, d, sums)
        for x in range(n_rows):
            for xc in range(width):
                total = sums[n_channels, x, xc] + centre
                for c in range(n_channels):
                    out[r0 + x, xc, c] = buf.pb[c, x + m, xc + m] + sums[c, x, xc] / total


def reflect101_index(n, margin):
    """Source index of each padded index -margin .. n + margin - 1, mirrored without
    repeating the edge (OpenCV's BORDER_REFLECT_101, numpy's 'reflect'), any margin."""
    if n == 1:
        return np.zeros(n + 2 * margin, np.int64)
    folded = np.arange(-margin, n + margin, dtype=np.int64) % (2 * n - 2)
    return np.where(folded >= n, 2 * n - 2 - folded, folded)


def nlm_fixed_centre(work, f, d, h, *, centre=1.0, floor=0.0):
    """Pixelwise NL-means of float32 `work` (H, W, C), patches of side 2f + 1 compared
    over all channels, search window 2d + 1, weights exp(-d2 / (C (2f + 1)^2 h^2))
    (h in the units of `work`), below `floor` dropped, the centre weighing `centre`;
    borders mirrored without repeating the edge."""
    height, width, n_channels = work.shape
    pw = patch_weights(f, d, n_channels * (2 * f + 1) ** 2, 0.0, h)
    out = np.empty_like(work)
    m = f + d
    run_bands(_fixed_centre_band, -(-height // BAND), work, out, pw, half_offsets(d),
              reflect101_index(height, m), reflect101_index(width, m), np.float32(centre),
              np.float32(floor), buffers=lambda: _buffers(work.shape, pw))
    return out


__all__ = ["nlm_fixed_centre", "reflect101_index"]
