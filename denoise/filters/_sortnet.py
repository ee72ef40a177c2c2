"""Selection networks for the median of a k x k window whose columns are already sorted.

A network is a list of compare-exchange operations ``(op, a, b)`` on numbered
wires: ``op`` 0 puts min(a, b) on wire a and max(a, b) on wire b, op 1 only the
min on a, op 2 only the max on b (the other output is never read). Built here,
in Python, once per window size; the median kernel runs the list.

The construction for a window of k sorted columns (wire ``t k + b`` holds rank
t of column b):

1. sort every rank row (the k values of rank t) across the columns: the k x k
   matrix is then sorted along rows and columns, so the entry (a, b) has at
   least (a + 1)(b + 1) entries <= it and (k - a)(k - b) entries >= it;
2. entries with more than ``n // 2 + 1`` entries <= them lie above the median,
   those with more than ``n - n // 2`` entries >= them below it; the median of
   the window is the order statistic ``n // 2 - below`` of the remaining
   candidates, selected by an odd-even merge sort over them;
3. every operation whose outputs cannot reach the selected wire is dropped,
   and operations with one live output keep only that output.
"""
import functools

import numpy as np


def odd_even_merge_sort(n):
    """Comparator pairs ``(i, j)``, i < j, of Batcher's odd-even merge sort of n wires."""
    pairs = []
    p = 1
    while p < n:
        k = p
        while k >= 1:
            for j in range(k % p, n - k, 2 * k):
                for i in range(min(k, n - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return pairs


@functools.lru_cache(maxsize=None)
def median_network(k):
    """``(ops, output)`` for a k x k window given as k sorted columns.

    `ops` is an (m, 3) int32 array of ``(op, a, b)`` rows, `output` the wire that
    holds the median afterwards. Wire ``t * k + b`` is rank t of column b.
    """
    n = k * k
    half = n // 2
    ops = [(0, t * k + a, t * k + b) for t in range(k) for a, b in odd_even_merge_sort(k)]
    candidates = [(a, b) for a in range(k) for b in range(k)
                  if (a + 1) * (b + 1) <= half + 1 and (k - a) * (k - b) <= n - half]
    below = sum(1 for a in range(k) for b in range(k) if (k - a) * (k - b) > n - half)
    wires = [a * k + b for a, b in candidates]
    ops += [(0, wires[i], wires[j]) for i, j in odd_even_merge_sort(len(wires))]
    output = wires[half - below]
    return _prune(ops, output), output


def _prune(ops, output):
    """Drop operations that cannot reach `output`; keep one output where only one is read."""
    live = {output}
    kept = []
    for _, a, b in reversed(ops):
        need_min, need_max = a in live, b in live
        if not (need_min or need_max):
            continue
        kept.append((0 if need_min and need_max else 1 if need_min else 2, a, b))
        live.update((a, b))
    return np.array(kept[::-1], dtype=np.int32).reshape(-1, 3)


def column_network(k):
    """Sorting network for one column of k values, as ``(op, a, b)`` rows (all op 0)."""
    return np.array([(0, a, b) for a, b in odd_even_merge_sort(k)], dtype=np.int32).reshape(-1, 3)
