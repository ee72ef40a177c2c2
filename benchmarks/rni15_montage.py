"""RNI15 (real noise, no reference): noisy photos against `denoise run` with every default.

Usage: python benchmarks/rni15_montage.py --dataset DIR/RNI15 --output benchmarks/report/rni15
       --publish docs/rni15.jpg [--photo Dog.png --photo ...]

For each photo: the whole noisy image and the whole result of ``denoise.denoise(image)``
(attention, noise estimated: what ``denoise run photo -o out`` does), then two crops
zoomed 3x (nearest neighbour, so pixels stay visible) from where the photo is most
textured and where it is darkest (where color mottling shows). Writes OUTPUT.png,
OUTPUT.md (the estimate found for each photo and the time; its image link is the
--publish path, relative to the project, as BENCHMARKS.md includes it) and a JPEG copy
at --publish, small enough to commit.
"""
import argparse
import time
from pathlib import Path

import numpy as np

from denoise import denoise, estimate_noise
from denoise.bench import environment
from denoise.io import read_image, write_text

PHOTOS = ("Dog.png", "Frog.png", "Window.png")
CROP, ZOOM = 80, 3


def crops(image):
    """Top-left corners of two CROP x CROP windows: the most textured and the darkest."""
    gray = image.astype(np.float64).mean(axis=2) if image.ndim == 3 else image.astype(float)
    h, w = gray.shape
    best = {}
    for top in range(0, h - CROP + 1, CROP // 2):
        for left in range(0, w - CROP + 1, CROP // 2):
            window = gray[top:top + CROP, left:left + CROP]
            texture = np.abs(np.diff(window, axis=1)).mean()
            for key, value in (("textured", -texture), ("dark", window.mean())):
                if key not in best or value < best[key][0]:
                    best[key] = (value, top, left)
    return [(best[k][1], best[k][2]) for k in ("textured", "dark")]


def zoom(image, top, left):
    part = image[top:top + CROP, left:left + CROP]
    return np.repeat(np.repeat(part, ZOOM, axis=0), ZOOM, axis=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True, help="path without extension")
    parser.add_argument("--publish", type=Path, required=True,
                        help="JPEG copy of the montage, committed (docs/rni15.jpg)")
    parser.add_argument("--photo", action="append", default=None)
    args = parser.parse_args()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    photos = args.photo or list(PHOTOS)
    figure, axes = plt.subplots(len(photos), 6, figsize=(24, 4.4 * len(photos)),
                                gridspec_kw={"width_ratios": [2, 2, 1, 1, 1, 1]})
    lines = []
    for row, name in zip(np.atleast_2d(axes), photos):
        noisy = read_image(args.dataset / name)
        start = time.perf_counter()
        out = denoise(noisy)
        seconds = time.perf_counter() - start
        found = estimate_noise(noisy, warn=False)
        lines.append(f"| {name} | {noisy.shape[1]}x{noisy.shape[0]} | "
                     f"{', '.join(f'{s:.1f}' for s in found.sigma)} | "
                     f"{', '.join(str(r) for r in found.correlation)} | {found.model} | "
                     f"{seconds:.1f} |")
        (t1, l1), (t2, l2) = crops(noisy)
        panels = [(noisy, f"{name}: noisy"), (out, "denoise run (defaults)"),
                  (zoom(noisy, t1, l1), "noisy, textured crop x3"),
                  (zoom(out, t1, l1), "result, textured crop x3"),
                  (zoom(noisy, t2, l2), "noisy, dark crop x3"),
                  (zoom(out, t2, l2), "result, dark crop x3")]
        for ax, (image, title) in zip(row, panels):
            ax.imshow(image, cmap="gray" if image.ndim == 2 else None, interpolation="nearest")
            ax.set_title(title, fontsize=11)
            ax.axis("off")
    figure.tight_layout()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.output.with_suffix(".png"), dpi=60)
    args.publish.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.publish, dpi=50, pil_kwargs={"quality": 82})
    env = environment()
    text = ["### RNI15: real noise, `denoise run` with every default", "",
            "Noisy photos (no clean reference) against `denoise run photo -o out` (attention, "
            "noise estimated); crops zoomed 3x from the most textured and the darkest part.",
            f"Command: `python benchmarks/rni15_montage.py --dataset {args.dataset} "
            f"--output {args.output} --publish {args.publish}`; {env.get('date', '')}.", "",
            f"![RNI15 montage]({args.publish.as_posix()})", "",
            "| photo | size | sigma found (8-bit) | correlation radius | model | seconds |",
            "| --- | --- | --- | --- | --- | --- |", *lines, ""]
    write_text(args.output.with_suffix(".md"), "\n".join(text))


if __name__ == "__main__":
    main()
