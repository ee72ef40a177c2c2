"""Write BENCHMARKS.md from the reports of `make bench` (their results.json files).

Usage: python benchmarks/summarize.py REPORT_DIR SUITE... --output BENCHMARKS.md

Each SUITE is a sub-folder of REPORT_DIR written by `denoise bench --report`.
The references' means are checked against the figures measured independently in
../shared/ANCHORS.md (copied below with their image counts), so a protocol or
adapter drift shows up as a large difference.
"""
import argparse
import html
import json
import sys
from pathlib import Path

from denoise.bench import BenchResult
from denoise.io import write_text
from denoise.report import header, markdown

# ANCHORS.md section 4: (data set, sigma) -> {reference: (mean PSNR dB, images)}.
# The median and OpenCV-median anchors are size 3 at sigma 15 and 25, size 5 at 50,
# which is the adapters' size rule.
ANCHORS = {
    ("Set12", 15): {"ref:bm3d": (32.42, 12), "ref:skimage-nlm": (31.27, 12),
                    "ref:opencv-nlm": (30.10, 12), "ref:skimage-tv": (30.54, 12),
                    "ref:skimage-wavelet": (29.44, 12), "ref:skimage-bilateral": (28.02, 12),
                    "ref:opencv-bilateral": (30.27, 12), "ref:scipy-median": (27.82, 12),
                    "ref:opencv-median": (27.82, 12)},
    ("Set12", 25): {"ref:bm3d": (30.02, 12), "ref:skimage-nlm": (28.69, 12),
                    "ref:opencv-nlm": (27.90, 12), "ref:skimage-tv": (28.07, 12),
                    "ref:skimage-wavelet": (26.85, 12), "ref:skimage-bilateral": (24.84, 12),
                    "ref:opencv-bilateral": (27.33, 12), "ref:scipy-median": (25.47, 12),
                    "ref:opencv-median": (25.47, 12)},
    ("Set12", 50): {"ref:bm3d": (26.77, 12), "ref:skimage-nlm": (24.96, 12),
                    "ref:opencv-nlm": (23.89, 12), "ref:skimage-tv": (24.80, 12),
                    "ref:skimage-wavelet": (23.56, 12), "ref:skimage-bilateral": (21.25, 12),
                    "ref:opencv-bilateral": (22.99, 12), "ref:scipy-median": (22.71, 12),
                    "ref:opencv-median": (22.79, 12)},
    ("BSD68", 15): {"ref:bm3d": (31.15, 68), "ref:skimage-nlm": (30.20, 68),
                    "ref:opencv-nlm": (29.34, 68), "ref:skimage-tv": (29.78, 68),
                    "ref:skimage-wavelet": (29.01, 68), "ref:skimage-bilateral": (27.86, 68),
                    "ref:opencv-bilateral": (29.46, 68), "ref:scipy-median": (26.90, 68),
                    "ref:opencv-median": (26.90, 68)},
    ("BSD68", 25): {"ref:bm3d": (28.63, 68), "ref:skimage-nlm": (27.69, 68),
                    "ref:opencv-nlm": (26.91, 68), "ref:skimage-tv": (27.49, 68),
                    "ref:skimage-wavelet": (26.32, 68), "ref:skimage-bilateral": (24.96, 68),
                    "ref:opencv-bilateral": (26.79, 68), "ref:scipy-median": (24.90, 68),
                    "ref:opencv-median": (24.90, 68)},
    ("BSD68", 50): {"ref:bm3d": (25.77, 17), "ref:skimage-nlm": (24.59, 68),
                    "ref:opencv-nlm": (23.38, 68), "ref:skimage-tv": (24.54, 68),
                    "ref:skimage-wavelet": (22.88, 68), "ref:skimage-bilateral": (21.79, 68),
                    "ref:opencv-bilateral": (22.79, 68), "ref:scipy-median": (22.46, 68),
                    "ref:opencv-median": (22.46, 68)},
    ("CBSD68", 25): {"ref:bm3d": (30.97, 17), "ref:skimage-nlm": (28.15, 68),
                     "ref:opencv-nlm": (25.90, 68)},
}


def anchor_rows(results):
    """``(set, sigma, reference, ours, anchor, n)`` where the image counts agree."""
    rows = []
    for _, result in results:
        dataset = Path(result.dataset).name
        for summary in result.summaries():
            anchor = ANCHORS.get((dataset, int(summary.sigma)), {}).get(summary.method)
            if anchor and anchor[1] == summary.n:
                rows.append((dataset, summary.sigma, summary.method, summary.psnr, *anchor))
    return rows


_SETS = ["Set12", "BSD68", "CBSD68"]


def _delta(value):
    return "0.00" if abs(value) < 0.005 else f"{value:+.2f}"


def render(results, commands):
    env = results[0][1].environment
    versions = ", ".join(f"{k} {v}" for k, v in env.get("packages", {}).items())
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` on {env.get('date', '?')}: {env.get('cpu', '?')}, "
        f"{env.get('cores', '?')} cores, {env.get('memory_gb', '?')} GB RAM, "
        f"Python {env.get('python', '?')}, {env.get('platform', '')}.",
        "",
        f"Packages: {versions}.",
        "",
        "Protocol (../shared/datasets/README.md): clean 8-bit image as float64,",
        "noisy = clean + N(0, σ²) with seed = the image's index in sorted order and no",
        "clipping; every method gets noisy / 255 and σ / 255 (float input) at its",
        "default parameters; outputs clipped to [0, 255]; PSNR (peak 255) and SSIM",
        "(scikit-image, 7x7) averaged over images. Methods run image by image in turn.",
        "Times are medians per image after a warm-up call; \"first call\" is the first",
        "call in a fresh process with an empty Numba cache (compilation, imports).",
        "Peak MB is the largest rise of the resident set during one call (Linux VmHWM,",
        "reset before each call after free heap memory is returned to the system with",
        "malloc_trim), so it counts Numba, OpenCV and C allocations alike, including",
        "the method's float copies of its input and its output.",
        "",
        "Commands (`make bench`; the HTML reports with plots and side-by-side images",
        "are written to benchmarks/report/, not committed):",
        "",
        "```sh",
        *commands,
        "```",
        "",
    ]
    rows = anchor_rows(results)
    if rows:
        worst = max(abs(ours - anchor) for *_, ours, anchor, _ in rows)
        columns = sorted({(d, s) for d, s, *_ in rows}, key=lambda k: (_SETS.index(k[0]), k[1]))
        cells = {(d, s, m): f"{ours:.2f} ({_delta(ours - anchor)})"
                 for d, s, m, ours, anchor, _ in rows}
        lines += ["## References against ../shared/ANCHORS.md", "",
                  f"Mean PSNR of each reference in this run, and (in brackets) its "
                  f"difference from the figure measured independently in ANCHORS.md, "
                  f"wherever both used the same images (BM3D: the first 17 images on "
                  f"BSD68 σ50 and CBSD68). Largest difference: {worst:.2f} dB.", "",
                  "| reference | " + " | ".join(f"{d} σ{s:g}" for d, s in columns) + " |",
                  "| --- |" + " --- |" * len(columns)]
        for method in sorted({m for _, _, m, *_ in rows}):
            lines.append(f"| {method} | " + " | ".join(
                cells.get((d, s, method), "-") for d, s in columns) + " |")
        lines.append("")
    lines.append("## Results")
    lines.append("")
    for name, result in results:
        lines.append(markdown(result, name))
    return "\n".join(lines)


def render_index(results):
    """benchmarks/report/index.html: one link per suite's report."""
    items = "\n".join(
        f"<li><a href='{html.escape(name)}/index.html'>{html.escape(name)}</a>: "
        f"{html.escape(header(result))}</li>" for name, result in results)
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<title>denoise benchmarks</title></head><body style='font-family:sans-serif'>"
            f"<h1>denoise benchmarks</h1><ul>\n{items}\n</ul>"
            "<p>The tables are also in BENCHMARKS.md at the top of the project.</p>"
            "</body></html>\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report_dir", type=Path)
    parser.add_argument("suites", nargs="+")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--commands", type=Path,
                        help="Text file with the commands that produced the reports.")
    parser.add_argument("--extra", type=Path, action="append", default=[],
                        help="Markdown file appended as a focused comparison, repeatable.")
    args = parser.parse_args(argv)
    results = []
    for suite in args.suites:
        path = args.report_dir / suite / "results.json"
        if not path.is_file():
            sys.exit(f"summarize: {path}: missing (run the bench suite first)")
        results.append((suite, BenchResult.from_json(json.loads(path.read_text()))))
    commands = args.commands.read_text().splitlines() if args.commands else []
    text = render(results, commands)
    extras = [path.read_text() for path in args.extra if path.is_file()]
    if extras:
        text += "\n## Focused comparisons\n\n" + "\n".join(extras)
    write_text(args.output, text)
    write_text(args.report_dir / "index.html", render_index(results))


if __name__ == "__main__":
    main()
