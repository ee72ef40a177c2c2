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
import textwrap

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


def straight_line_source(k):
    """Python source of the fused median kernel for a k x k window (Numba).

    ``sort_column{k}(v0..)`` returns its k arguments sorted; ``median{k*k}(w0..)``
    takes the window as k sorted columns (wire ``t k + b`` is rank t of column b)
    and returns the median; both are straight-line code where each
    compare-exchange is one compare and two selects on local variables, inlined
    at Numba level. ``median{k}_kernel`` (one chunk of rows per call) sorts the
    columns of the k rows once per output row, then runs ``median{k*k}`` in one
    loop over the row's pixels, which the vectoriser turns into packed min/max. The module ``_medianfused.py``
    holds this source; a test checks that it is current.
    """
    def body(ops, name):
        lines = []
        for op, a, b in ops:
            x, y = f"{name}{a}", f"{name}{b}"
            if op == 0:
                lines.append(f"    {x}, {y} = min({x}, {y}), max({x}, {y})")
            elif op == 1:
                lines.append(f"    {x} = min({x}, {y})")
            else:
                lines.append(f"    {y} = max({x}, {y})")
        return lines

    ops, output = median_network(k)
    column = [f"v{d}" for d in range(k)]
    wires = [f"w{u}" for u in range(k * k)]
    inline = "@njit(cache=True, nogil=True, inline='always')"
    out = [inline, *_wrap(f"def sort_column{k}({', '.join(column)}):", 4),
           f'    """The {k} values in increasing order."""']
    out += body(column_network(k), "v")
    out += [f"    return {', '.join(column)}", "", "", inline,
            *_wrap(f"def median{k * k}({', '.join(wires)}):", 4),
            f'    """Median of a {k} x {k} window given as {k} sorted columns."""']
    out += body(ops, "w")
    out += [f"    return w{output}", "", ""]
    return "\n".join(out + _kernel_source(k)) + "\n"


def _wrap(line, indent):
    return textwrap.wrap(line, 99, subsequent_indent=" " * indent,
                         break_long_words=False, break_on_hyphens=False)


def _kernel_source(k):
    """Lines of ``median{k}_kernel`` (see :func:`straight_line_source`)."""
    r = k // 2
    wrap = _wrap
    out = ["@njit(cache=True, nogil=True)",
            f"def median{k}_kernel(chunk, src, out, rows, cols, chunks, s):",
            f'    """{k} x {k} median of rows of chunk `chunk` (of `chunks`) of `src` into `out`',
            "    (any dtype); `rows` / `cols` map padded indices to source ones; `s` is",
            f'    scratch ({k}, W + {2 * r}) in the dtype of `src`."""',
            "    height, width = out.shape",
            "    for i in range(chunk * height // chunks, (chunk + 1) * height // chunks):",
            *wrap("        " + ", ".join(f"r{d}" for d in range(k)) + " = ("
                  + ", ".join(f"src[rows[i + {d}]]" for d in range(k)) + ")", 9),
            *wrap("        " + ", ".join(f"t{d}" for d in range(k)) + " = ("
                  + ", ".join(f"s[{d}, {r}:]" for d in range(k)) + ")", 9),
            "        for c in range(width):",
            *wrap("            " + ", ".join(f"t{d}[c]" for d in range(k))
                  + f" = sort_column{k}(" + ", ".join(f"r{d}[c]" for d in range(k)) + ")", 16),
            f"        for t in range({k}):",
            f"            for c in range({r}):                        # mirrored edge columns",
            f"                s[t, c] = s[t, {r} + cols[c]]",
            f"                s[t, width + {r} + c] = s[t, {r} + cols[width + {r} + c]]"]
    for t in range(k):
        out += wrap("        " + ", ".join(f"x{t}_{b}" for b in range(k)) + " = ("
                    + ", ".join(f"s[{t}, {b}:]" for b in range(k)) + ")", 9)
    out += ["        target = out[i]",
            "        for j in range(width):",
            *wrap(f"            target[j] = median{k * k}("
                  + ", ".join(f"x{t}_{b}[j]" for t in range(k) for b in range(k)) + ")", 16)]
    return out


def fused_module():
    """The text of ``_medianfused.py``: fused kernels for 3 x 3 and 5 x 5."""
    header = ('"""Generated by ``python -m denoise.filters._sortnet``: fused median kernels\n'
              'for 3 x 3 and 5 x 5 (see ``_sortnet.straight_line_source``). Do not edit."""\n'
              "from numba import njit\n")
    return header + "".join("\n\n" + straight_line_source(k) for k in (3, 5))


if __name__ == "__main__":        # regenerate _medianfused.py: python -m denoise.filters._sortnet
    import pathlib

    pathlib.Path(__file__).with_name("_medianfused.py").write_text(fused_module())
