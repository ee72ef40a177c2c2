"""Render bench reports as a browser shows them: headless Chromium, one PNG each.

Usage: python benchmarks/render_report.py REPORT_DIR_OR_INDEX... [--width 1400]

Each argument is a report folder written by `denoise bench --report` (or its
index.html); the page is rendered to index.png beside it, as tall as the page,
so the report can be looked at (and checked) as a reader sees it. Needs
Chromium (Debian: apt install chromium).
"""
import argparse
import sys
from pathlib import Path

from denoise.errors import DenoiseError
from denoise.report_images import screenshot


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", type=Path)
    parser.add_argument("--width", type=int, default=1400)
    args = parser.parse_args(argv)
    status = 0
    for report in args.reports:
        page = report / "index.html" if report.is_dir() else report
        png = page.with_suffix(".png")
        try:
            height, width = screenshot(page, png, width=args.width)
        except DenoiseError as exc:
            print(f"render_report: error: {exc}", file=sys.stderr)
            status = 1
            continue
        print(f"{png}: {width}x{height}")
    return status


if __name__ == "__main__":
    sys.exit(main())
