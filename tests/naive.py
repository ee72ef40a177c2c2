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


def _fit(window, offsets, weights, order):
    """Weighted least squares of a local polynomial in pixel offsets: the
    coefficients (value, d/drow, d/dcol, ...) for each channel of `window`."""
    exps = [(t - q, q) for t in range(order + 1) for q in range(t + 1)]
    x = np.stack([offsets[:, 0] ** p * offsets[:, 1] ** q for p, q in exps], axis=1)
    xw = x * weights[:, None]
    return np.linalg.lstsq(xw.T @ x, xw.T @ window, rcond=None)[0]


def lark_steering(g1, g2, *, disk, lam, alpha, lam2=1e-7):
    """(H, W, 2, 2) steering matrices from gradient planes: for each pixel the
    disk-weighted gradients of its window, their SVD (numpy), and
    C = ((s1 s2 + lam2) / sum(disk))^alpha (e v1 v1^T + v2 v2^T / e), e = (s1+lam)/(s2+lam)."""
    height, width = g1.shape
    r = disk.shape[0] // 2
    p1 = np.pad(np.asarray(g1, np.float64), r, mode="symmetric")
    p2 = np.pad(np.asarray(g2, np.float64), r, mode="symmetric")
    out = np.empty((height, width, 2, 2))
    for i in range(height):
        for j in range(width):
            g = np.stack([(disk * p1[i:i + 2 * r + 1, j:j + 2 * r + 1]).ravel(),
                          (disk * p2[i:i + 2 * r + 1, j:j + 2 * r + 1]).ravel()], axis=1)
            _, s, vt = np.linalg.svd(g, full_matrices=False)
            v1, v2 = vt[0], vt[1]
            e = (s[0] + lam) / (s[1] + lam)
            gamma = ((s[0] * s[1] + lam2) / disk.sum()) ** alpha
            out[i, j] = gamma * (e * np.outer(v1, v1) + np.outer(v2, v2) / e)
    return out


def kernel_regression(planes, c, *, h, radius, order):
    """Steering kernel regression of (H, W, C) planes with (H, W, 2, 2) steering c:
    per pixel, weights sqrt(det C_j) exp(-d^T C_j d / (2 h^2)) over the mirrored
    window and a weighted least-squares polynomial fit. Returns the estimate and
    the two derivative images (H, W, C) each."""
    height, width, channels = planes.shape
    pad = np.pad(np.asarray(planes, np.float64), ((radius, radius), (radius, radius), (0, 0)),
                 mode="symmetric")
    cpad = np.pad(c, ((radius, radius), (radius, radius), (0, 0), (0, 0)), mode="symmetric")
    di, dj = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    offsets = np.stack([di.ravel(), dj.ravel()], axis=1).astype(float)
    out = np.empty((3, height, width, channels))
    for i in range(height):
        for j in range(width):
            cw = cpad[i:i + 2 * radius + 1, j:j + 2 * radius + 1].reshape(-1, 2, 2)
            quad = np.einsum("ka,kab,kb->k", offsets, cw, offsets)
            weights = np.sqrt(np.linalg.det(cw)) * np.exp(-quad / (2 * h * h))
            window = pad[i:i + 2 * radius + 1, j:j + 2 * radius + 1].reshape(-1, channels)
            beta = _fit(window, offsets, weights, order)
            out[0, i, j] = beta[0]
            if order >= 1:
                out[1, i, j], out[2, i, j] = beta[1], beta[2]
    return out[0], out[1], out[2]


def lark(work, *, h, radius, order, steer, iterations, disk, lam=1.0, alpha=0.5):
    """Iterative steering kernel regression of an (H, W, C) array in [0, 1], on the
    0-255 scale: pilot gradients by order-2 classic regression (h 0.5, 5x5) of the
    luminance, then `iterations` times steering from the current gradients and a
    regression of the current estimate. Returns the estimate in [0, 1] units, each
    channel clipped to its range in the input."""
    y = np.asarray(work, np.float64) * 255.0
    luma = (lambda a: a @ np.array([0.299, 0.587, 0.114])) if y.shape[2] == 3 else \
        (lambda a: a.mean(axis=2))
    identity = np.broadcast_to(np.eye(2), y.shape[:2] + (2, 2))
    _, g1, g2 = kernel_regression(luma(y)[..., None], identity, h=0.5, radius=2, order=2)
    z = y
    for _ in range(iterations):
        c = lark_steering(g1[..., 0], g2[..., 0], disk=disk, lam=lam, alpha=alpha) \
            if steer else identity
        z, d1, d2 = kernel_regression(z, c, h=h, radius=radius, order=order)
        if order == 0:
            _, d1, d2 = kernel_regression(z, identity, h=0.5, radius=2, order=2)
        g1, g2 = luma(d1)[..., None], luma(d2)[..., None]
    return np.clip(z / 255.0, work.min(axis=(0, 1)), work.max(axis=(0, 1)))


def _grid(n, f, stride, origin):
    """Reference centres: c with f <= c <= n - 1 - f on the frame's grid
    (c + origin - f divisible by stride), and the first and last that fit."""
    return sorted({f, n - 1 - f} | {c for c in range(f, n - f)
                                     if (c + origin - f) % stride == 0})


def attention_stage(work, pilot, stage, value, origin=(0, 0), basis=None, form=None,
                    values=None):
    """One stage of attention by brute force on `work` (H, W, C) as given (color
    already in luma / chroma): every candidate's patch distance on channel 0 of
    the pilot computed directly (or of the patches' projections on `basis`, n x D),
    plus stage.pen times the positional form P(t) of the reference (`form`, 3 x H
    x W), groups by a stable sort, each channel's weights by numpy solves.

    A progressive stage (LIChI) filters the groups of `values` (Z) with the noise
    level t sigma they still hold, t = clip(1 - std(Y - Z) / sigma, tau + 1e-6, 1)
    per group and channel, and also returns the next Z, the aggregate of
    (1 - tau / t) estimate + (tau / t) Z (None when tau = 0)."""
    height, width, n_channels = work.shape
    f, d, k = stage.f, stage.d, stage.k
    source = work if pilot is None else pilot
    guide = source[..., 0].astype(np.float64)
    num = np.zeros(work.shape)
    den = np.zeros(work.shape)
    num_z = np.zeros(work.shape)

    def patch(image, r, c):
        return image[r - f:r + f + 1, c - f:c + f + 1].astype(np.float64).ravel()

    def key(r, c):                          # what is compared: the patch or its features
        return patch(guide, r, c) if basis is None else patch(guide, r, c) @ basis

    def place(row, col, t):
        if form is None:
            return 0.0
        q = form[:, row, col].astype(np.float64)
        return q[0] * t[0] ** 2 + 2 * q[1] * t[0] * t[1] + q[2] * t[1] ** 2

    for row in _grid(height, f, stage.stride, origin[0]):
        for col in _grid(width, f, stage.stride, origin[1]):
            cands = [(row + a, col + b) for a in range(-d, d + 1) for b in range(-d, d + 1)
                     if f <= row + a < height - f and f <= col + b < width - f
                     and (a, b) != (0, 0)]
            dist = [np.sum((key(r, c) - key(row, col)) ** 2)
                    + stage.pen * place(row, col, (r - row, c - col)) for r, c in cands]
            members = [(row, col)] + [cands[i] for i in np.argsort(dist, kind="stable")]
            members = members[:k]
            for ch in range(n_channels):
                y = np.array([patch(work[..., ch], r, c) for r, c in members])
                used, t = stage, 1.0
                if stage.progressive:
                    z = np.array([patch(values[..., ch], r, c) for r, c in members])
                    t = np.clip(1 - np.std(y - z) / stage.sigma, stage.tau + 1e-6, 1.0)
                    used = stage._replace(lam=stage.lam * t * t, c=stage.c * t * t)
                    y = z
                x = y if stage.noisy_fit else np.array([patch(source[..., ch], r, c)
                                                        for r, c in members])
                if stage.softmax:
                    m = y if basis is None else np.array([key(r, c) for r, c in members])
                    at = np.array(members, dtype=np.float64)
                    q = None if form is None else form[:, row, col].astype(np.float64)
                    est, weights = softmax(m, y, stage.lam, stage.c, at, q)
                elif value == "wiener":
                    est, weights = wiener(x, y, used.c)
                else:
                    est, weights = ridge(x, y, used)
                share = stage.tau / t
                for (r, c), e, w, zi in zip(members, est, weights, y):
                    num[r - f:r + f + 1, c - f:c + f + 1, ch] += w * e.reshape(2 * f + 1, -1)
                    den[r - f:r + f + 1, c - f:c + f + 1, ch] += w
                    num_z[r - f:r + f + 1, c - f:c + f + 1, ch] += \
                        w * ((1 - share) * e + share * zi).reshape(2 * f + 1, -1)
    if stage.progressive:
        return num / den, (num_z / den if stage.tau > 0 else None)
    return num / den


def ridge(m, y, stage):
    """Theta = I - c (m m^T + lam I)^-1 (rows summing to one if affine); Theta y and
    the weights 1 / clip(sum_j Theta_ij^2, 1/k, 1)."""
    k = len(m)
    inverse = np.linalg.solve(m @ m.T + stage.lam * np.eye(k), np.eye(k))
    if stage.affine:
        r = inverse.sum(axis=1)
        inverse -= np.outer(r, r) / r.sum()
    theta = np.eye(k) - stage.c * inverse
    return theta @ y, 1.0 / np.clip((theta ** 2).sum(axis=1), 1.0 / k, 1.0)


def wiener(x, y, b):
    """mu + (y - mu)(I - b (C_x + b I)^-1), C_x the covariance of x (1/k), mu y's mean;
    weights 1."""
    k, n = x.shape
    centred = x - x.mean(axis=0)
    a = centred.T @ centred / k + b * np.eye(n)
    mu = y.mean(axis=0)
    return mu + (y - mu) @ (np.eye(n) - b * np.linalg.inv(a)), np.ones(k)


def softmax(m, y, floor, inv_h2, at=None, q=None):
    """NLM's weights between the members: exp(-max(d / n - floor, 0) / h^2 - P(t)), d
    and n from `m` (patches or features), P the positional form q of the offset t
    between the members' places `at`; 0 past 30, the centre the largest of the
    others (1 if all are 0); rows normalised. The estimates of `y` and the weights
    1 / clip(sum_j theta_ij^2, 1/k, 1)."""
    k, n = m.shape
    scaled = np.maximum(((m[:, None] - m[None]) ** 2).sum(axis=2) / n - floor, 0) * inv_h2
    if q is not None:
        t = at[None, :, :] - at[:, None, :]
        scaled = scaled + q[0] * t[..., 0] ** 2 + 2 * q[1] * t[..., 0] * t[..., 1] \
            + q[2] * t[..., 1] ** 2
    theta = np.where(scaled < 30, np.exp(-scaled), 0.0)
    np.fill_diagonal(theta, 0.0)
    top = theta.max(axis=1)
    np.fill_diagonal(theta, np.where(top > 0, top, 1.0))
    theta /= theta.sum(axis=1, keepdims=True)
    return theta @ y, 1.0 / np.clip((theta ** 2).sum(axis=1), 1.0 / k, 1.0)
