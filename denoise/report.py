"""Render a :class:`~denoise.bench.BenchResult`: text table, CSV/JSON, plots, HTML, Markdown.

The report folder is self-contained: ``index.html`` shows the tables and the
plots, which are PNG files beside it (no network, no scripts). Every file is
written atomically, so an interrupted run never leaves a half-written one.
"""
import csv
import html
import io
import json
from dataclasses import asdict, fields
from pathlib import Path

from .bench import Summary
from .errors import ImageIOError, InvalidParameterError
from .io import write_atomic, write_text
from .noise import get_noise
from .protocol import score
from .registry import REGISTRY

_COLUMNS = [("method", "method"), ("sigma", "σ"), ("n", "n"), ("psnr", "PSNR dB"),
            ("ssim", "SSIM"), ("seconds", "s/image"), ("mpx_per_s", "Mpx/s"),
            ("peak_mb", "peak MB"), ("first_call_s", "first call s")]


# --- text ---------------------------------------------------------------------------

def table(result, images=None):
    """The summary as an aligned text table (stdout)."""
    rows = [[_cell(getattr(r, key), key) for key, _ in _COLUMNS]
            for r in result.summaries(images)]
    head = [result.symbol if key == "sigma" else title for key, title in _COLUMNS]
    widths = [max(len(head[i]), *(len(r[i]) for r in rows)) for i in range(len(head))]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w)
                       for i, (h, w) in enumerate(zip(head, widths)))]
    for row in rows:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths))))
    return "\n".join(lines)


def header(result):
    """One paragraph: data set, images, threads, machine, date."""
    env = result.environment
    return (f"{Path(result.dataset).name}: {len(result.images)} images, "
            f"{result.describe_noise()}, "
            f"{result.threads} thread(s); {env.get('cpu', '?')}, {env.get('cores', '?')} "
            f"cores, Python {env.get('python', '?')}; {env.get('date', '')}")


def comparisons(result):
    """Our methods against the references of the same family at each sigma.

    Rows ``(ours, ref, sigma, psnr_gain, ssim_gain, speed_ratio)`` over the images
    both ran; the speed ratio is the reference's median seconds over ours (> 1:
    ours is faster).
    """
    images = {m: {s.image for s in result.samples if s.method == m} for m in result.methods}
    rows = []
    for ours in result.methods:
        if REGISTRY[ours].is_reference:
            continue
        for ref in result.methods:
            if not REGISTRY[ref].is_reference or REGISTRY[ref].family != REGISTRY[ours].family:
                continue
            both = images[ours] & images[ref]            # compare on the same images
            by_key = {(r.method, r.sigma): r for r in result.summaries(both)}
            for sigma in result.sigmas:
                a, b = by_key.get((ours, sigma)), by_key.get((ref, sigma))
                if a and b:
                    ratio = b.seconds / a.seconds if a.seconds else None
                    rows.append((ours, ref, sigma, a.psnr - b.psnr, a.ssim - b.ssim, ratio))
    return rows


# --- files --------------------------------------------------------------------------

def check_report_folder(folder, overwrite=False):
    """Raise InvalidParameterError unless a report can be written into `folder`."""
    if (Path(folder) / "index.html").exists() and not overwrite:
        raise InvalidParameterError(
            f"{folder}: a report exists there; pass --overwrite to replace it")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise InvalidParameterError("a report draws plots with matplotlib: "
                                    "pip install 'denoise[bench]'") from None


def write_report(result, folder, *, overwrite=False):
    """Write JSON, CSVs, plots, montages and ``index.html`` into `folder`."""
    folder = Path(folder)
    if not overwrite and (folder / "index.html").exists():
        raise ImageIOError(f"{folder}: a report exists there; pass --overwrite to replace it")
    folder.mkdir(parents=True, exist_ok=True)
    write_text(folder / "results.json", json.dumps(result.to_json(), indent=1))
    write_text(folder / "summary.csv", _csv([asdict(r) for r in result.summaries()],
                                             [f.name for f in fields(Summary)]))
    samples = [asdict(s) for s in result.noisy + result.samples]
    write_text(folder / "images.csv", _csv(samples, list(samples[0]) if samples else []))
    plots = _plots(result, folder)
    write_text(folder / "index.html", _html(result, plots))
    return folder / "index.html"


def markdown(result, title=None):
    """A BENCHMARKS.md section: PSNR/SSIM per sigma, timing, comparisons."""
    lines = [f"### {title or Path(result.dataset).name}", "", header(result) + ".", ""]
    pivot = _pivot(result)
    symbol = result.symbol
    lines += ["| method | " + " | ".join(f"{symbol}={s:g} PSNR / SSIM" for s in result.sigmas)
              + " |",
              "| --- |" + " --- |" * len(result.sigmas)]
    for method, cells in pivot:
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    common = result.common_images()
    if common is not None:
        lines += ["", f"Some methods ran on fewer images (n column below); on the "
                      f"{len(common)} images every method ran:", "",
                  "| method | " + " | ".join(f"{symbol}={s:g}" for s in result.sigmas) + " |",
                  "| --- |" + " --- |" * len(result.sigmas)]
        for method, cells in _pivot(result, common):
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
    lines += ["", f"Speed and memory ({result.threads} thread(s); median s per image, "
                  "Mpx/s over all images, peak = largest rise of the resident set in a call, "
                  "first call = compilation and imports):", "",
              f"| method | {symbol} | n | s/image | Mpx/s | peak MB | first call s |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in result.summaries():
        if r.method != "noisy":
            lines.append(f"| {r.method} | {r.sigma:g} | {r.n} | {_cell(r.seconds, 'seconds')} "
                         f"| {_cell(r.mpx_per_s, 'mpx_per_s')} | {_cell(r.peak_mb, 'peak_mb')} "
                         f"| {_cell(r.first_call_s, 'first_call_s')} |")
    rows = comparisons(result)
    if rows:
        lines += ["", "Ours against the references of the same family (PSNR/SSIM gain; "
                      "speed = reference time / our time, > 1 means ours is faster):", "",
                  f"| ours | reference | {symbol} | ΔPSNR dB | ΔSSIM | speed |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for ours, ref, sigma, dp, ds, ratio in rows:
            speed = f"{ratio:.2f}x" if ratio else "n/a"
            lines.append(f"| {ours} | {ref} | {sigma:g} | {dp:+.2f} | {ds:+.4f} | {speed} |")
    return "\n".join(lines) + "\n"


# --- helpers ------------------------------------------------------------------------

def _cell(value, key):
    if value is None:
        return "-"
    if key == "psnr":
        return f"{value:.2f}"
    if key == "ssim":
        return f"{value:.4f}"
    if key == "sigma":
        return f"{value:g}"
    if key in ("seconds", "first_call_s"):
        return f"{value:.3f}" if value < 10 else f"{value:.1f}"
    if key in ("mpx_per_s", "peak_mb"):
        return f"{value:.3g}" if value < 1000 else f"{value:.0f}"
    return str(value)


def _pivot(result, images=None):
    """``[(method, ["psnr / ssim" per sigma])]`` in run order, noisy first."""
    by_key = {(r.method, r.sigma): r for r in result.summaries(images)}
    out = []
    for method in ["noisy", *result.methods]:
        cells = []
        for sigma in result.sigmas:
            r = by_key.get((method, sigma))
            n = "" if r is None or r.n == len(images or result.images) else f" (n={r.n})"
            cells.append("-" if r is None else f"{r.psnr:.2f} / {r.ssim:.4f}{n}")
        out.append((method, cells))
    return out


def _csv(rows, columns):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _plots(result, folder):
    """Draw the plots; return ``[(file name, caption)]`` in display order."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from matplotlib.ticker import NullFormatter

    summaries = [r for r in result.summaries() if r.method != "noisy"]
    palette = plt.get_cmap("tab20").colors
    color = {m: palette[i % len(palette)] for i, m in enumerate(result.methods)}
    plots = []

    def save(fig, name, caption):
        write_atomic(folder / name, lambda f: fig.savefig(f, format="png", dpi=100))
        plt.close(fig)
        plots.append((name, caption))

    fig, ax = plt.subplots(figsize=(9, 4.5))
    for method in result.methods:
        points = [(r.sigma, r.psnr) for r in summaries if r.method == method]
        style = "--" if REGISTRY[method].is_reference else "-"
        ax.plot(*zip(*points), style, marker="o", label=method, color=color[method])
    ax.set_xlabel(get_noise(result.noise).axis)
    ax.set_ylabel("mean PSNR (dB)")
    ax.set_title(f"{Path(result.dataset).name}: PSNR against noise level")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.tight_layout()
    save(fig, "psnr_vs_sigma.png", "Mean PSNR per method against sigma "
                                   "(dashed: references).")

    fig, axes = plt.subplots(1, len(result.sigmas), figsize=(5 * len(result.sigmas), 4.5),
                             squeeze=False)
    for ax, sigma in zip(axes[0], result.sigmas):
        for r in (r for r in summaries if r.sigma == sigma and r.seconds):
            marker = "s" if REGISTRY[r.method].is_reference else "o"
            ax.scatter(r.seconds, r.psnr, marker=marker, color=color[r.method])
            ax.annotate(r.method, (r.seconds, r.psnr), fontsize=7,
                        xytext=(3, 3), textcoords="offset points")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("median seconds per image (log)")
        ax.set_ylabel("mean PSNR (dB)")
        ax.set_title(f"sigma {sigma:g}")
        ax.grid(alpha=0.3)
    fig.suptitle(f"Quality against time, {result.threads} thread(s) "
                 "(up and left is better; squares: references)")
    fig.tight_layout()
    save(fig, "frontier.png", "Quality/speed frontier: mean PSNR against median "
                              "seconds per image.")

    for sigma, panels in result.montage.items():
        save(_montage(plt, result, sigma, panels), f"montage_sigma{sigma:g}.png",
             f"{result.montage_image} at sigma {sigma:g}: clean, noisy and each "
             f"method's output with its PSNR.")
    return plots


def _montage(plt, result, sigma, panels):
    clean = panels["clean"]
    labels = list(panels)
    cols = min(4, len(labels))
    rows = -(-len(labels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.8 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, label in zip(axes.ravel(), labels):
        image = panels[label] / result.data_range
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1,
                  interpolation="nearest")
        if label == "clean":
            title = "clean"
        else:
            value, _ = score(clean, panels[label], result.data_range)
            title = f"{label}\n{value:.2f} dB"
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def _html(result, plots):
    esc = html.escape
    env = result.environment
    parts = ["<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
             f"<title>denoise bench: {esc(Path(result.dataset).name)}</title>",
             "<style>body{font-family:sans-serif;margin:2em;max-width:1400px}"
             "table{border-collapse:collapse;margin:1em 0}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
             "td:first-child,th:first-child{text-align:left}"
             "tr.ref td{color:#555}img{max-width:100%}</style></head><body>",
             f"<h1>denoise bench: {esc(Path(result.dataset).name)}</h1>",
             f"<p>{esc(header(result))}</p>",
             f"<p>Protocol: noisy = clean with {esc(get_noise(result.noise).summary)} "
             f"({esc(result.symbol)}: {esc(get_noise(result.noise).level)}), "
             "seed = image index in sorted order, not clipped; outputs clipped to the "
             "data range; PSNR and SSIM (scikit-image, 7x7 window) averaged over images. "
             "Times: median per image after a warm-up; first call = compilation and imports.</p>",
             "<h2>Results</h2>", _html_table(result, result.summaries())]
    common = result.common_images()
    if common is not None:
        parts += [f"<h2>On the {len(common)} images every method ran</h2>",
                  _html_table(result, result.summaries(common))]
    rows = comparisons(result)
    if rows:
        parts += ["<h2>Ours against references of the same family</h2>",
                  "<table><tr><th>ours</th><th>reference</th><th>σ</th><th>ΔPSNR dB</th>"
                  "<th>ΔSSIM</th><th>speed (ref s / our s)</th></tr>"]
        for ours, ref, sigma, dp, ds, ratio in rows:
            speed = f"{ratio:.2f}x" if ratio else "n/a"
            parts.append(f"<tr><td>{esc(ours)}</td><td>{esc(ref)}</td><td>{sigma:g}</td>"
                         f"<td>{dp:+.2f}</td><td>{ds:+.4f}</td><td>{speed}</td></tr>")
        parts.append("</table>")
    parts.append("<h2>Plots</h2>")
    for name, caption in plots:
        parts.append(f"<figure><img src='{esc(name)}' alt='{esc(caption)}'>"
                     f"<figcaption>{esc(caption)}</figcaption></figure>")
    versions = ", ".join(f"{k} {v}" for k, v in env.get("packages", {}).items())
    parts += ["<h2>Data and environment</h2>",
              "<p>Files: <a href='summary.csv'>summary.csv</a> (per method and σ), "
              "<a href='images.csv'>images.csv</a> (per image), "
              "<a href='results.json'>results.json</a> (everything).</p>",
              f"<p>{esc(versions)}</p>", f"<p>{esc(env.get('platform', ''))}, "
              f"{esc(str(env.get('memory_gb', '?')))} GB RAM</p>", "</body></html>"]
    return "\n".join(parts)


def _html_table(result, summaries):
    esc = html.escape
    head = "".join(f"<th>{esc(title)}</th>" for _, title in _COLUMNS)
    rows = [f"<table><tr>{head}</tr>"]
    for r in summaries:
        ref = r.method != "noisy" and REGISTRY[r.method].is_reference
        cells = "".join(f"<td>{esc(_cell(getattr(r, key), key))}</td>" for key, _ in _COLUMNS)
        rows.append(f"<tr{' class=ref' if ref else ''}>{cells}</tr>")
    rows.append("</table>")
    return "\n".join(rows)
