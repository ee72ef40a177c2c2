"""Render a :class:`~denoise.bench.BenchResult`: text table, CSV/JSON, plots, HTML, Markdown.

The report folder is self-contained: ``index.html`` shows the tables, the plots
(:mod:`denoise.report_plots`) and the images (:mod:`denoise.report_images`), all
PNG files beside it (no network, no scripts). Tables rank the methods by PSNR at
each noise level and mark the best of ours and the best reference. Every file is
written atomically, so an interrupted run never leaves a half-written one.
"""
import csv
import html
import importlib.util
import io
import json
from dataclasses import asdict, fields
from pathlib import Path

from .bench import Summary
from .errors import ImageIOError, InvalidParameterError
from .io import write_text
from .noise import get_noise
from .registry import REGISTRY, format_value
from .report_images import best_marks, image_section

_COLUMNS = [("method", "method"), ("sigma", "σ"), ("n", "n"), ("psnr", "PSNR dB"),
            ("ssim", "SSIM"), ("seconds", "s/image"), ("mpx_per_s", "Mpx/s"),
            ("peak_mb", "peak MB"), ("first_call_s", "first call s")]
MARKS = {"best-ours": "*", "best-ref": "+"}     # in the text table


# --- text ---------------------------------------------------------------------------

def table(result, images=None):
    """The summary as an aligned text table (stdout): at each level the methods by
    PSNR, best first, the noisy input last; * marks the best of ours, + the best
    reference."""
    rows = []
    for r, mark in ranked(result.summaries(images)):
        cells = [_cell(getattr(r, key), key) for key, _ in _COLUMNS]
        cells[0] = f"{MARKS.get(mark, ' ')} {cells[0]}"
        rows.append((r.sigma, cells))
    head = [result.symbol if key == "sigma" else title for key, title in _COLUMNS]
    head[0] = "  " + head[0]
    widths = [max(len(head[i]), *(len(c[i]) for _, c in rows)) for i in range(len(head))]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w)
                       for i, (h, w) in enumerate(zip(head, widths)))]
    for k, (sigma, row) in enumerate(rows):
        if k and sigma != rows[k - 1][0]:
            lines.append("")
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths))))
    lines.append(f"(* best of ours, + best reference at each {result.symbol}; "
                 f"best PSNR first)")
    return "\n".join(lines)


def ranked(summaries):
    """``[(row, mark)]``: at each level (in run order) the methods by mean PSNR, best
    first (then SSIM), and the noisy input last; `mark` is "best-ours" for the first
    of ours, "best-ref" for the first reference, "" otherwise."""
    out = []
    for sigma in dict.fromkeys(r.sigma for r in summaries):
        rows = sorted((r for r in summaries if r.sigma == sigma and r.method != "noisy"),
                      key=lambda r: (-r.psnr, -r.ssim, REGISTRY[r.method].is_reference,
                                     r.method))
        marks = best_marks([r.method for r in rows])
        out += [(r, marks.get(r.method, "")) for r in rows]
        out += [(r, "") for r in summaries if r.sigma == sigma and r.method == "noisy"]
    return out


def header(result):
    """One paragraph: data set, images, noise, parameters given, threads, machine, date."""
    env = result.environment
    given = f"parameters {describe_params(result.params)}, " if result.params else ""
    return (f"{Path(result.dataset).name}: {len(result.images)} images, "
            f"{result.describe_noise()}, {given}"
            f"{result.threads} thread(s); {env.get('cpu', '?')}, {env.get('cores', '?')} "
            f"cores, Python {env.get('python', '?')}; {env.get('date', '')}")


def describe_params(params, method=None):
    """``nlm h=12, median radius=2`` (or one method's ``h=12``): the parameters given."""
    def values(m):
        return " ".join(f"{k}={format_value(v)}" for k, v in params.get(m, {}).items())

    if method is not None:
        return values(method)
    return ", ".join(f"{m} {values(m)}" for m in params)


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
    if importlib.util.find_spec("matplotlib") is None:
        raise InvalidParameterError("a report draws plots with matplotlib: "
                                    "pip install 'denoise[bench]'")


def write_report(result, folder, *, overwrite=False):
    """Write JSON, CSVs, plots, images and ``index.html`` into `folder`."""
    from .report_plots import draw_plots

    folder = Path(folder)
    if not overwrite and (folder / "index.html").exists():
        raise ImageIOError(f"{folder}: a report exists there; pass --overwrite to replace it")
    folder.mkdir(parents=True, exist_ok=True)
    write_text(folder / "results.json", json.dumps(result.to_json(), indent=1))
    write_text(folder / "summary.csv", _csv([asdict(r) for r in result.summaries()],
                                             [f.name for f in fields(Summary)]))
    samples = [asdict(s) for s in result.noisy + result.samples]
    write_text(folder / "images.csv", _csv(samples, list(samples[0]) if samples else []))
    plots = draw_plots(result, folder)
    images = [(sigma, image_section(result, sigma, folder)) for sigma in result.montage]
    write_text(folder / "index.html", _html(result, plots, images))
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


_CSS = ("body{font-family:sans-serif;margin:1.5em auto;max-width:1340px;padding:0 1em;"
        "color:#222;line-height:1.35}"
        "h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}"
        ".tables{display:flex;flex-wrap:wrap;gap:0 2em;align-items:flex-start}"
        "table{border-collapse:collapse;margin:.5em 0 1em;font-size:14px}"
        "caption{text-align:left;font-weight:bold;padding:.2em 0}"
        "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}"
        "td:first-child,th:first-child{text-align:left}"
        "tr.ref td,.key.ref{color:#555}tr.noisy td,.key.noisy{color:#777;font-style:italic}"
        "tr.best-ours td,.key.best-ours,figure.best-ours figcaption{background:#d4f0d4}"
        "tr.best-ref td,.key.best-ref,figure.best-ref figcaption{background:#d6e4fa}"
        "tr.best-ours td:first-child,tr.best-ref td:first-child{font-weight:bold}"
        "figure.best-ours img{outline:3px solid #3a3}figure.best-ref img{outline:3px solid #36c}"
        ".key{display:inline-block;padding:1px 8px;border:1px solid #ccc;margin:0 .4em}"
        ".params{color:#666;font-size:85%}td.gain{color:#17761a}td.loss{color:#b22}"
        "img{max-width:100%;height:auto}figure{margin:0}.plot{margin:1em 0 2em}"
        ".frames,.crops{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}"
        ".frames img{max-width:330px}.crops img{image-rendering:pixelated}"
        "figcaption{font-size:13px;text-align:center;padding:2px 0}"
        ".note{color:#555;font-size:90%}")


def _html(result, plots, images):
    """The page: header, ranked tables, comparisons, plots, images, environment."""
    esc = html.escape
    name = esc(Path(result.dataset).name)
    noise = get_noise(result.noise)
    parts = ["<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
             f"<title>denoise bench: {name}</title>", f"<style>{_CSS}</style></head><body>",
             f"<h1>denoise bench: {name}</h1>", f"<p>{esc(header(result))}</p>",
             f"<p class='note'>Protocol: noisy = clean with {esc(noise.summary)} "
             f"({esc(result.symbol)}: {esc(noise.level)}), seed = image index in sorted "
             "order, not clipped; outputs clipped to the data range; PSNR and SSIM "
             "(scikit-image, 7x7 window) averaged over images. Times: median per image "
             "after a warm-up; first call = compilation and imports.</p>",
             "<h2>Results</h2>", _glance(result),
             "<p>At each noise level the methods are ranked by mean PSNR, best first; "
             "the noisy input comes last. <span class='key best-ours'>best of ours</span>"
             "<span class='key best-ref'>best reference</span><span class='key ref'>"
             "reference</span><span class='key noisy'>noisy input</span></p>",
             _html_tables(result, result.summaries())]
    common = result.common_images()
    if common is not None:
        parts += [f"<h2>On the {len(common)} images every method ran</h2>",
                  _html_tables(result, result.summaries(common))]
    parts.append(_html_comparisons(result))
    parts.append("<h2>Plots</h2>")
    for file, caption in plots:
        parts.append(f"<figure class='plot'><img src='{esc(file)}' alt='{esc(caption)}'>"
                     f"<figcaption>{esc(caption)}</figcaption></figure>")
    if images:
        parts.append(f"<h2>Images: {esc(result.montage_image)}</h2>")
    for sigma, section in images:
        parts += [f"<h3>{esc(result.symbol)} = {sigma:g}</h3>", section]
    parts.append(_html_footer(result))
    return "\n".join(parts)


def _glance(result):
    """One line per level: the best of ours and the best reference, and the input."""
    items = []
    for sigma in result.sigmas:
        rows = [(r, mark) for r, mark in ranked(result.summaries()) if r.sigma == sigma]
        said = [f"{'best of ours' if mark == 'best-ours' else 'best reference'} "
                f"<b>{html.escape(r.method)}</b> {r.psnr:.2f} dB"
                for r, mark in rows if mark]
        said += [f"noisy input {r.psnr:.2f} dB" for r, _ in rows if r.method == "noisy"]
        items.append(f"<li>{html.escape(result.symbol)} = {sigma:g}: {'; '.join(said)}</li>")
    return "<ul>" + "".join(items) + "</ul>"


def _html_tables(result, summaries):
    """One table per level, side by side, rows ranked (see :func:`ranked`)."""
    esc = html.escape
    columns = [(key, title) for key, title in _COLUMNS if key != "sigma"]
    head = "".join(f"<th>{esc(title)}</th>" for _, title in columns)
    parts, sigma = ["<div class='tables'>"], None
    for r, mark in ranked(summaries):
        if r.sigma != sigma:
            if sigma is not None:
                parts.append("</table>")
            sigma = r.sigma
            parts.append(f"<table><caption>{esc(result.symbol)} = {sigma:g}</caption>"
                         f"<tr>{head}</tr>")
        kind = "noisy" if r.method == "noisy" else \
            "ref" if REGISTRY[r.method].is_reference else "ours"
        given = describe_params(result.params, r.method)
        cells = [esc(_cell(getattr(r, key), key)) for key, _ in columns]
        if given:
            cells[0] += f" <span class='params'>{esc(given)}</span>"
        row = "".join(f"<td>{c}</td>" for c in cells)
        parts.append(f"<tr class='{(kind + ' ' + mark).strip()}'>{row}</tr>")
    parts += ["</table>" if sigma is not None else "", "</div>"]
    return "\n".join(parts)


def _html_comparisons(result):
    rows = comparisons(result)
    if not rows:
        return ""
    esc = html.escape
    parts = ["<h2>Ours against references of the same family</h2>",
             f"<table><tr><th>ours</th><th>reference</th><th>{esc(result.symbol)}</th>"
             "<th>ΔPSNR dB</th><th>ΔSSIM</th><th>speed (ref s / our s)</th></tr>"]
    for ours, ref, sigma, dp, ds, ratio in rows:
        speed = f"{ratio:.2f}x" if ratio else "n/a"
        kind = "gain" if dp > 0.005 else "loss" if dp < -0.005 else ""
        parts.append(f"<tr><td>{esc(ours)}</td><td>{esc(ref)}</td><td>{sigma:g}</td>"
                     f"<td class='{kind}'>{dp:+.2f}</td><td>{ds:+.4f}</td>"
                     f"<td>{speed}</td></tr>")
    parts.append("</table>")
    return "\n".join(parts)


def _html_footer(result):
    esc = html.escape
    env = result.environment
    versions = ", ".join(f"{k} {v}" for k, v in env.get("packages", {}).items())
    return "\n".join([
        "<h2>Data and environment</h2>",
        "<p>Files: <a href='summary.csv'>summary.csv</a> (per method and σ), "
        "<a href='images.csv'>images.csv</a> (per image), "
        "<a href='results.json'>results.json</a> (everything).</p>",
        f"<p>{esc(versions)}</p>", f"<p>{esc(env.get('platform', ''))}, "
        f"{esc(str(env.get('memory_gb', '?')))} GB RAM</p>", "</body></html>"])
