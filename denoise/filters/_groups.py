"""Patch groups: the top-k selection of similar patches and the closed-form weights
that combine a group (attention's building blocks).

A group is k patches of n values each (all channels of a p x p patch), as the
rows of a k x n matrix Y. Its weights come from small symmetric positive
definite systems, solved here by a Cholesky factorisation of our own (float64,
no allocation: every array is the caller's scratch):

* ridge (NL-Ridge): ``Theta = I - c (M M^T + lam I)^-1`` with M the group that
  gives the statistics (the noisy group itself in a first stage, the pilot's in
  later ones); the estimate is ``Theta Y`` and patch i weighs
  ``1 / clip(sum_j Theta_ij^2, 1/k, 1)`` when the estimates are aggregated;
* empirical Wiener (NL-Bayes step 2): ``m + (Y - m) (I - b A^-1)`` with
  ``A = C_X + b I``, C_X the pilot group's covariance and m the noisy group's
  mean; every patch weighs 1.

A factorisation that fails (a pivot not above zero: only for degenerate input)
leaves the flat estimate, every patch replaced by the group mean.

ridge_group, wiener_group and spd_inverse are inlined into their caller by Numba:
compiled on their own, each would have its library optimised, then linked into
the caller's and optimised again (about 1 s of a cold first run).
"""
import numpy as np
from numba import njit

from .._config import FASTMATH
from ._weights import centre_weight, neg_exp


# --- top-k selection --------------------------------------------------------------------

@njit(cache=True, nogil=True, fastmath=FASTMATH)
def heap_push(dist, index, count, k, d, i):
    """Offer candidate (d, i) to the max-heap of the k smallest distances held in
    dist[:count], index[:count]; returns the new count. A candidate that only ties
    the largest kept distance is refused, so the first comer wins."""
    if count < k:
        j = count
        while j > 0:                          # sift up
            parent = (j - 1) // 2
            if dist[parent] >= d:
                break
            dist[j], index[j] = dist[parent], index[parent]
            j = parent
        dist[j], index[j] = d, i
        return count + 1
    if d >= dist[0]:
        return count
    j = 0
    while True:                               # replace the root, sift down
        child = 2 * j + 1
        if child >= k:
            break
        if child + 1 < k and dist[child + 1] > dist[child]:
            child += 1
        if dist[child] <= d:
            break
        dist[j], index[j] = dist[child], index[child]
        j = child
    dist[j], index[j] = d, i
    return count


# --- small dense systems ----------------------------------------------------------------

@njit(cache=True, nogil=True, fastmath=FASTMATH)
def cholesky(a, n, low):
    """low[:n, :n] (lower triangle) = L with L L^T = a[:n, :n] (its lower triangle is
    read). False if a pivot is not above 1e-12 of the largest diagonal value, or not
    finite: the system is then too close to singular for float64."""
    scale = 0.0
    for j in range(n):
        scale = max(scale, a[j, j])
    tiny = 1e-12 * scale
    for j in range(n):
        s = a[j, j]
        for p in range(j):
            s -= low[j, p] * low[j, p]
        if not tiny < s < np.inf:
            return False
        ljj = np.sqrt(s)
        low[j, j] = ljj
        for i in range(j + 1, n):
            s = a[i, j]
            for p in range(j):
                s -= low[i, p] * low[j, p]
            low[i, j] = s / ljj
    return True


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def cholesky_solve(low, n, b, m):
    """b[:n, :m] = (L L^T)^-1 b, L in `low`: forward then back substitution, each step
    a whole-row update of b (m right-hand sides at once: it vectorises)."""
    for j in range(n):                        # L z = b
        for p in range(j):
            _subtract(b[j, :m], low[j, p], b[p, :m])
        _scale(b[j, :m], 1.0 / low[j, j])
    for j in range(n - 1, -1, -1):            # L^T x = z
        for i in range(j + 1, n):
            _subtract(b[j, :m], low[i, j], b[i, :m])
        _scale(b[j, :m], 1.0 / low[j, j])


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _subtract(row, coefficient, src):
    """row -= coefficient * src."""
    for q in range(row.shape[0]):
        row[q] -= coefficient * src[q]


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _scale(row, factor):
    """row *= factor (a loop: an array expression would compile NumPy's broadcasting)."""
    for q in range(row.shape[0]):
        row[q] *= factor


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def spd_inverse(a, n, low):
    """Invert the symmetric positive definite a[:n, :n] in place (its lower triangle
    is read); `low`: (>= n, >= n) scratch. False as :func:`cholesky` (a unchanged)."""
    if not cholesky(a, n, low):
        return False
    for i in range(n):
        for j in range(n):
            a[i, j] = 1.0 if i == j else 0.0
    cholesky_solve(low, n, a, n)
    return True


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def gram(m, k, n, out):
    """out[:k, :k] = m[:k, :n] m[:k, :n]^T (float64 sums)."""
    for i in range(k):
        for j in range(i + 1):
            s = 0.0
            a, b = m[i], m[j]
            for t in range(n):
                s += np.float64(a[t]) * np.float64(b[t])
            out[i, j] = s
            out[j, i] = s


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _column_means(y, k, n, mean):
    """mean[:n] = the mean of the rows y[:k] (float64 sums, rows in order)."""
    mean[:n] = 0.0
    for i in range(k):
        row = y[i]
        for t in range(n):
            mean[t] += row[t]
    for t in range(n):
        mean[t] /= k


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def flat_group(y, k, n, est, weights, mean):
    """Every estimate the group's mean patch, every weight 1 (the fallback)."""
    _column_means(y, k, n, mean)
    for i in range(k):
        for t in range(n):
            est[i, t] = mean[t]
    weights[:k] = 1.0


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def ridge_group(m, y, k, n, lam, c, affine, sq, low, est, weights, mean):
    """est[:k] = Theta y, Theta = I - c (m m^T + lam I)^-1; weights[:k] the aggregation
    weights 1 / clip(sum_j Theta_ij^2, 1/k, 1). `sq`, `low`: (>= k, >= k) float64;
    `mean` (>= n) float64 scratch.

    With `affine`, the rows of Theta sum to one (the ridge fitted under that
    constraint): Q^-1 becomes Q^-1 - r r^T / (1^T r), r = Q^-1 1, so a group's
    mean is kept instead of shrunk towards 0.
    """
    gram(m, k, n, sq)
    for i in range(k):
        sq[i, i] += lam
    if not spd_inverse(sq, k, low):
        flat_group(y, k, n, est, weights, mean)
        return
    if affine:
        _affine(sq, k, weights)
    for i in range(k):
        norm = 0.0
        for j in range(k):
            theta = (1.0 if i == j else 0.0) - c * sq[i, j]
            norm += theta * theta
            low[i, j] = theta                 # low: Theta
        weights[i] = 1.0 / min(max(norm, 1.0 / k), 1.0)
    _combine(low, y, k, n, est)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def softmax_group(m, nm, y, k, n, floor, inv_h2, at, q, sq, low, est, weights):
    """est[:k] = Theta y with softmax attention weights: member i attends to member j
    with weight exp(-max(|m_i - m_j|^2 / nm - floor, 0) / h^2 - P(x_j - x_i)) (NLM's
    noise-aware weights, floor = 2 sigma^2 per value of m's nm, 0 past the cutoff),
    to itself with the largest of the others (the centre rule, 1 if all are 0), rows
    normalised. m holds what is compared (patches, or their PCA features), y the
    values combined (n per row). The positional term is the quadratic form
    P(t) = q0 t_r^2 + 2 q1 t_r t_c + q2 t_c^2 of the members' places `at` (k, 2);
    q = 0 leaves none. The logits are <= 0, so no shift is needed against overflow,
    and a tiny h leaves every patch as it is. Distances come from the Gram matrix
    (the dot-product form of the Gaussian kernel); aggregation weights as
    :func:`ridge_group`. `sq`, `low`: (>= k, >= k)."""
    gram(m, k, nm, sq)
    place = q[0] != 0.0 or q[1] != 0.0 or q[2] != 0.0
    for i in range(k):
        top = np.float32(0.0)
        for j in range(k):
            if j != i:
                dist = (sq[i, i] + sq[j, j] - 2.0 * sq[i, j]) / nm
                logit = max(dist - floor, 0.0) * inv_h2
                if place:
                    tr, tc = at[j, 0] - at[i, 0], at[j, 1] - at[i, 1]
                    logit += q[0] * tr * tr + 2.0 * q[1] * tr * tc + q[2] * tc * tc
                w = neg_exp(np.float32(logit))
                low[i, j] = w
                top = max(top, w)
        low[i, i] = centre_weight(top)
        total = 0.0
        for j in range(k):
            total += low[i, j]
        norm = 0.0
        for j in range(k):
            low[i, j] /= total
            norm += low[i, j] * low[i, j]
        weights[i] = 1.0 / min(max(norm, 1.0 / k), 1.0)
    _combine(low, y, k, n, est)


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _combine(theta, y, k, n, est):
    """est[:k] = theta[:k, :k] y[:k, :n] (float32 products, float64 theta)."""
    for i in range(k):
        row = est[i]
        row[:n] = 0.0
        for j in range(k):
            t, yj = np.float32(theta[i, j]), y[j]
            for q in range(n):
                row[q] += t * yj[q]


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _affine(inverse, k, r):
    """inverse[:k, :k] -= r r^T / (1^T r), r = inverse 1 (`r`: scratch of k)."""
    total = 0.0
    for i in range(k):
        s = 0.0
        for j in range(k):
            s += inverse[i, j]
        r[i] = s
        total += s
    for i in range(k):
        for j in range(k):
            inverse[i, j] -= r[i] * r[j] / total


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def wiener_group(x, y, k, n, b, cov, low, mean, est, weights):
    """est[:k] = mu + (y - mu)(I - b A^-1) = y - b (y - mu) A^-1, A = C_x + b I with
    C_x the covariance of the pilot group x (1/k) and mu the mean of y (solved by
    Cholesky, no inverse formed); every weight 1. `cov`, `low`: (>= n,
    >= n) float64; `mean`: (>= n) float64 scratch. A group of one is kept as is."""
    if k < 2:
        flat_group(y, k, n, est, weights, mean)
        return
    _column_means(x, k, n, mean)
    centred = low                             # the pilot group, centred (float64)
    for i in range(k):
        for t in range(n):
            centred[i, t] = x[i, t] - mean[t]
    for s_ in range(n):
        cov[s_, :s_ + 1] = 0.0
    for i in range(k):                        # covariance: rank-1 updates, rows in order
        xi = centred[i]
        for s_ in range(n):
            xs, row = xi[s_], cov[s_]
            for t in range(s_ + 1):
                row[t] += xs * xi[t]
    for s_ in range(n):
        for t in range(s_ + 1):
            cov[s_, t] /= k
        cov[s_, s_] += b
    if not cholesky(cov, n, low):
        flat_group(y, k, n, est, weights, mean)
        return
    _column_means(y, k, n, mean)
    rt = cov                                  # (n, k): (y - mu)^T, then A^-1 (y - mu)^T
    for i in range(k):
        for t in range(n):
            rt[t, i] = y[i, t] - mean[t]
    cholesky_solve(low, n, rt, k)
    for i in range(k):
        row = est[i]
        for t in range(n):
            row[t] = y[i, t] - np.float32(b * rt[t, i])
    weights[:k] = 1.0
