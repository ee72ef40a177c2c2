"""The report's plots: mean PSNR against the noise level (a ranked bar chart when
only one level was run) and quality against time, with labels that never overlap.

Each method keeps one look in every plot: the colour of its family (ours and the
references computing the same thing share it), a filled circle for ours and a
hollow marker, larger and of another shape, for each reference, so points that
coincide (our median is SciPy's) stay visible. Figures are laid out with
Matplotlib's constrained layout, which keeps titles and labels inside them; the
layout is then frozen and point labels are placed in pixels around their points,
avoiding each other, the markers and the frame.
"""
import math
import textwrap
from pathlib import Path

from .io import write_atomic
from .noise import get_noise
from .registry import REGISTRY

DPI = 100
WIDTH = 13.0                     # inches: 1300 px, the width the HTML page shows
REF_MARKERS = "s^Dvp"
LABEL_SIZE = 8                   # points
_RADII = (4, 9, 15, 23, 33, 46, 62, 82)
_ANGLES = (0, 180, 90, 270, 30, 150, 330, 210, 60, 120, 300, 240)


def draw_plots(result, folder):
    """Draw the plots into `folder`; return ``[(file name, caption)]`` in display order."""
    plt = _pyplot()
    plots = []
    for name, fig, caption in (("psnr.png", quality_figure(result), _quality_caption(result)),
                               ("frontier.png", frontier_figure(result),
                                "Quality against speed: mean PSNR against median seconds "
                                "per image (log scale); up and left is better. The grey "
                                "steps join the methods no other beats on both. Colour: "
                                "family; filled circles: ours; hollow: references.")):
        write_atomic(Path(folder) / name,
                     lambda f, fig=fig: fig.savefig(f, format="png", dpi=DPI))
        plt.close(fig)
        plots.append((name, caption))
    return plots


def styles(methods):
    """``{method: dict(color, marker, filled, size)}``: one look per method (see above)."""
    plt = _pyplot()
    families = list(dict.fromkeys(REGISTRY[m].family for m in methods))
    palette = plt.get_cmap("tab10" if len(families) <= 10 else "tab20").colors
    out, count = {}, {}
    for method in methods:
        family = REGISTRY[method].family
        ref = REGISTRY[method].is_reference
        k = count[family] = count.get(family, 0) + ref
        out[method] = {"color": palette[families.index(family) % len(palette)],
                       "marker": REF_MARKERS[(k - 1) % len(REF_MARKERS)] if ref else "o",
                       "filled": not ref, "size": 9 if ref else 6}
    return out


def quality_figure(result):
    """PSNR against the noise level, one line per method; with one level, a bar chart."""
    if len(result.sigmas) == 1:
        return _bar_figure(result, result.sigmas[0])
    plt = _pyplot()
    look = styles(result.methods)
    rows = [r for r in result.summaries() if r.method != "noisy"]
    mean = {m: sum(r.psnr for r in rows if r.method == m) / max(1, sum(
        r.method == m for r in rows)) for m in result.methods}
    order = sorted(result.methods, key=lambda m: -mean[m])
    fig, ax = plt.subplots(figsize=(WIDTH, 6.5), dpi=DPI, layout="constrained")
    levels = sorted(set(result.sigmas))
    step = min((b - a for a, b in zip(levels, levels[1:])), default=1.0)
    for i, method in enumerate(order):
        points = sorted((r.sigma, r.psnr) for r in rows if r.method == method)
        dodge = (i - (len(order) - 1) / 2) * step * 0.011      # coinciding points side by side
        s = look[method]
        ax.plot([x + dodge for x, _ in points], [y for _, y in points],
                "--" if REGISTRY[method].is_reference else "-", color=s["color"],
                marker=s["marker"], markersize=s["size"], markeredgewidth=1.4,
                markerfacecolor=s["color"] if s["filled"] else "white",
                zorder=3 if s["filled"] else 2, label=f"{method} ({mean[method]:.2f} dB)")
    ax.set_xticks(result.sigmas)
    ax.set_xlabel(get_noise(result.noise).axis)
    ax.set_ylabel("mean PSNR (dB)")
    ax.set_title(wrap(f"{Path(result.dataset).name}: mean PSNR against the noise level",
                      fig, 12))
    ax.grid(alpha=0.3)
    fig.legend(loc="outside right upper", fontsize="small", title="mean over levels",
               title_fontsize="small")
    return fig


def frontier_figure(result):
    """Mean PSNR against median seconds per image, one panel per level, labelled points."""
    plt = _pyplot()
    look = styles(result.methods)
    rows = [r for r in result.summaries() if r.method != "noisy" and r.seconds]
    cols = min(2, len(result.sigmas))
    nrows = -(-len(result.sigmas) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(WIDTH, 5.6 * nrows), dpi=DPI,
                             layout="constrained", squeeze=False)
    panels = []
    for ax, sigma in zip(axes.ravel(), result.sigmas):
        chosen = [r for r in rows if r.sigma == sigma]
        for r in chosen:
            s = look[r.method]
            ax.plot(r.seconds, r.psnr, linestyle="none", marker=s["marker"],
                    markersize=s["size"], color=s["color"], markeredgewidth=1.4,
                    markerfacecolor=s["color"] if s["filled"] else "white",
                    zorder=3 if s["filled"] else 2)
        best = _pareto([(r.seconds, r.psnr) for r in chosen])
        if len(best) > 1:
            ax.step(*zip(*best), where="post", color="0.6", linewidth=1, zorder=1)
        _log_axis(ax, [r.seconds for r in chosen])
        ax.margins(x=0.12, y=0.12)
        ax.set_xlabel("median seconds per image (log scale)")
        ax.set_ylabel("mean PSNR (dB)")
        ax.set_title(f"{result.symbol} = {sigma:g}", fontsize=11)
        ax.grid(alpha=0.3)
        panels.append((ax, chosen))
    for ax in axes.ravel()[len(result.sigmas):]:
        _key(ax)
    fig.suptitle(wrap(f"{Path(result.dataset).name}: quality against time, "
                      f"{result.threads} thread(s)", fig, 12), fontsize=12)
    freeze_layout(fig)
    for ax, chosen in panels:
        place_labels(ax, [(r.seconds, r.psnr) for r in chosen], [r.method for r in chosen])
    return fig


def _key(ax):
    """What the markers and the steps mean, in a panel left over."""
    from matplotlib.lines import Line2D

    ax.axis("off")
    handles = [Line2D([], [], linestyle="none", marker="o", color="0.3", markersize=6,
                      label="ours (colour: family)"),
               Line2D([], [], linestyle="none", marker="s", color="0.3", markersize=9,
                      markerfacecolor="white", markeredgewidth=1.4,
                      label="reference (hollow; △ ◇ for a second, third)"),
               Line2D([], [], color="0.6", linewidth=1,
                      label="best trade-off: no method is both faster and better")]
    ax.legend(handles=handles, loc="center", frameon=False, fontsize=10)


def freeze_layout(fig):
    """Run the constrained layout once, then keep it: pixels no longer move."""
    fig.canvas.draw()
    fig.set_layout_engine("none")


def place_labels(ax, points, texts, fontsize=LABEL_SIZE):
    """Annotate each data point with its text, beside it, so that no two labels
    overlap, no label covers a marker, and every label stays inside the axes:
    candidate spots at growing distances around the point, the first free one
    wins (a thin leader line joins a distant label to its point). Call after
    :func:`freeze_layout`. Returns the annotations."""
    renderer = ax.figure.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    pixels = [tuple(ax.transData.transform(p)) for p in points]
    taken = [(x - 6, y - 6, x + 6, y + 6) for x, y in pixels]      # the markers
    order = sorted(range(len(points)), key=lambda i: (-pixels[i][1], pixels[i][0]))
    scale = 72.0 / ax.figure.dpi
    notes = [None] * len(points)
    for i in order:
        probe = ax.text(0, 0, texts[i], fontsize=fontsize, transform=None)
        size = probe.get_window_extent(renderer)
        probe.remove()
        spot, far = _free_spot(pixels[i], size.width, size.height, frame, taken)
        offset = ((spot[0] - pixels[i][0]) * scale, (spot[1] - pixels[i][1]) * scale)
        line = {"arrowstyle": "-", "color": "0.55", "linewidth": 0.6, "shrinkA": 1,
                "shrinkB": 4, "relpos": (0.5, 0.5)} if far else None
        notes[i] = ax.annotate(texts[i], points[i], xytext=offset, textcoords="offset points",
                               fontsize=fontsize, ha="left", va="bottom", zorder=4,
                               arrowprops=line, bbox={"boxstyle": "square,pad=0.05",
                                                      "fc": "white", "ec": "none",
                                                      "alpha": 0.8})
        taken.append((spot[0] - 1, spot[1] - 1, spot[0] + size.width + 1,
                      spot[1] + size.height + 1))
    return notes


def text_boxes(fig):
    """Window extents of what `fig` shows: every visible, non-empty text but tick
    labels (titles, axis labels, annotations without their leader lines, legend
    entries, values on bars) and, for the ticks, each axes' tight box (which counts
    only the ticks drawn). ``[(name, Bbox)]``."""
    from matplotlib.axis import Tick
    from matplotlib.text import Text

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ticks = {id(t) for tick in fig.findobj(Tick) for t in (tick.label1, tick.label2)}

    def shown(t):
        return (t.get_visible() and t.get_text().strip() and id(t) not in ticks
                and (t.axes is None or t.axes.get_visible()))

    boxes = [(t.get_text(), Text.get_window_extent(t, renderer))
             for t in fig.findobj(Text) if shown(t)]
    return boxes + [(f"axes {i}", ax.get_tightbbox(renderer))
                    for i, ax in enumerate(fig.axes) if ax.get_visible()]


def wrap(text, fig, fontsize):
    """`text` broken into lines that fit the width of `fig` at `fontsize` points."""
    chars = int(fig.get_figwidth() * 72 / (0.62 * fontsize))
    return textwrap.fill(text, max(20, chars))


# --- helpers ------------------------------------------------------------------------

def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _free_spot(point, width, height, frame, taken):
    """Lower-left corner (pixels) for a width x height label near `point`, and whether
    it is far enough to need a leader line."""
    x, y = point
    fallback = None
    for radius in _RADII:
        for angle in _ANGLES:
            dx, dy = math.cos(math.radians(angle)), math.sin(math.radians(angle))
            left = x + radius * dx - (0 if dx > 0.3 else width if dx < -0.3 else width / 2)
            bottom = y + radius * dy - (0 if dy > 0.3 else height if dy < -0.3 else height / 2)
            box = (left, bottom, left + width, bottom + height)
            inside = (box[0] >= frame.x0 + 2 and box[2] <= frame.x1 - 2
                      and box[1] >= frame.y0 + 2 and box[3] <= frame.y1 - 2)
            if inside and not any(_overlap(box, other) for other in taken):
                return (left, bottom), radius > _RADII[2]
            if inside and fallback is None:
                fallback = (left, bottom)
    return fallback or (x + 4, y + 4), True


def _log_axis(ax, values):
    """A log x axis labelled in plain numbers, more of them per decade over a short range."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_xscale("log")
    decades = math.log10(max(values) / min(values)) if values else 0
    subs = range(1, 10) if decades < 0.6 else (1, 2, 5) if decades < 2 else (1,)
    ax.xaxis.set_major_locator(LogLocator(subs=subs))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _overlap(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _pareto(points):
    """The points no other beats on both axes (less time, more PSNR), by time."""
    best, top = [], -math.inf
    for x, y in sorted(points, key=lambda p: (p[0], -p[1])):
        if y > top:
            best.append((x, y))
            top = y
    return best


def _bar_figure(result, sigma):
    """One level: methods ranked by mean PSNR, the noisy input last, values on the bars."""
    plt = _pyplot()
    look = styles(result.methods)
    rows = sorted((r for r in result.summaries() if r.sigma == sigma),
                  key=lambda r: (r.method == "noisy", -r.psnr))
    fig, ax = plt.subplots(figsize=(WIDTH, 0.8 + 0.32 * len(rows)), dpi=DPI,
                           layout="constrained")
    low = min(r.psnr for r in rows) - 1.0
    for i, r in enumerate(rows):
        ref = r.method != "noisy" and REGISTRY[r.method].is_reference
        color = "white" if r.method == "noisy" else look[r.method]["color"]
        ax.barh(i, r.psnr - low, left=low, height=0.7, color=color, alpha=0.55 if ref else 1,
                hatch="//" if ref else ".." if r.method == "noisy" else None,
                edgecolor="0.3", linewidth=0.5)
        ax.text(r.psnr + 0.05, i, f"{r.psnr:.2f}", va="center", fontsize=LABEL_SIZE)
    ax.set_yticks(range(len(rows)), [r.method for r in rows], fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(low, max(r.psnr for r in rows) + 0.9)
    ax.set_xlabel(f"mean PSNR (dB) at {result.symbol} = {sigma:g} (axis starts at {low:.1f})")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(wrap(f"{Path(result.dataset).name}: mean PSNR, best first", fig, 12))
    return fig


def _quality_caption(result):
    if len(result.sigmas) == 1:
        return ("Mean PSNR per method at the one noise level run, best first (hatched: "
                "references; dotted: the noisy input). Several levels (--sigma 15,25,50) draw "
                "PSNR against the level instead.")
    return ("Mean PSNR per method against the noise level (dashed lines and hollow "
            "markers: references; colour: family; points nudged sideways so that "
            "coinciding ones stay visible).")
