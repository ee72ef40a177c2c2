"""The report's images, and a browser's rendering of the whole report.

For the montage image at each noise level: full frames (the clean image with
the zoomed window outlined, the noisy input, the best of ours, the best
reference) and, for every method, the same window zoomed with nearest-neighbour
pixels beside the clean and noisy ones, each labelled with its PSNR on that
image. The window is chosen once from the clean image (where it has the most
structure), so it is the same at every level. :func:`screenshot` renders
``index.html`` with headless Chromium, to look at the report as a reader's
browser shows it.
"""
import html
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .errors import ImageIOError
from .io import write_atomic
from .protocol import score
from .registry import REGISTRY

CROP = 72                        # side of the zoomed window, pixels of the image
TILE = 216                       # about this many pixels on the page per crop
FRAME = 330                      # widest full frame on the page
BOX = (230, 30, 30)              # colour of the window's outline
CHROMIUM = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def crop_region(clean, side=CROP, margin=8):
    """``(top, left, side)``: the `side` x `side` window of `clean` (its gray mean for
    color) with the most structure: the largest mean gradient of the image averaged
    over 4x4 blocks (edges and shapes count, fine grain such as gravel much less),
    kept `margin` pixels off the border where the image allows."""
    gray = clean if clean.ndim == 2 else clean.mean(axis=2)
    side = int(min(side, *gray.shape[:2]))
    block = min(4, side)
    coarse = _window_sums(gray, block) / block ** 2
    grad = np.zeros(coarse.shape, dtype=np.float64)
    grad[:, 1:] += np.abs(np.diff(coarse, axis=1))
    grad[1:, :] += np.abs(np.diff(coarse, axis=0))
    sums = _window_sums(grad, side - block + 1)          # window (i, j) covers i..i+side-1
    edge = [min(margin, (n - 1) // 2) for n in sums.shape]
    inner = sums[edge[0]:sums.shape[0] - edge[0], edge[1]:sums.shape[1] - edge[1]]
    top, left = np.unravel_index(np.argmax(inner), inner.shape)
    return int(top + edge[0]), int(left + edge[1]), side


def _window_sums(a, side):
    """Sums of every `side` x `side` window of `a` (the valid ones), by an integral image."""
    total = np.pad(a.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    return (total[side:, side:] - total[:-side, side:] - total[side:, :-side]
            + total[:-side, :-side])


def zoom_factor(side):
    """Whole-number zoom showing a `side`-pixel window at about :data:`TILE` pixels."""
    return max(1, round(TILE / side))


def to_display(image, data_range):
    """Image units to 8-bit for a PNG: scaled, rounded and clipped."""
    return np.clip(np.rint(image / data_range * 255.0), 0, 255).astype(np.uint8)


def zoomed(image, region, zoom):
    """The window `region` of `image`, each pixel repeated `zoom` times both ways."""
    top, left, side = region
    window = image[top:top + side, left:left + side]
    return np.repeat(np.repeat(window, zoom, axis=0), zoom, axis=1)


def outlined(image, region, width=2):
    """An RGB copy of the 8-bit `image` with the window `region` outlined (around it)."""
    rgb = np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image.copy()
    top, left, side = region
    h, w = rgb.shape[:2]
    r0, r1 = max(top - width, 0), min(top + side + width, h)
    c0, c1 = max(left - width, 0), min(left + side + width, w)
    for rows, cols in (((r0, top), (c0, c1)), ((top + side, r1), (c0, c1)),
                       ((r0, r1), (c0, left)), ((r0, r1), (left + side, c1))):
        rgb[rows[0]:rows[1], cols[0]:cols[1]] = BOX
    return rgb


def image_section(result, sigma, folder):
    """Write the frames and crops of the montage image at `sigma` into `folder`;
    return the report's HTML for them."""
    panels = result.montage[sigma]
    clean, top = panels["clean"], result.data_range
    psnr = {label: score(clean, image, top)[0] for label, image in panels.items()
            if label != "clean"}
    methods = sorted((m for m in panels if m not in ("clean", "noisy")),
                     key=lambda m: (-psnr[m], REGISTRY[m].is_reference, m))
    marks = best_marks(methods)
    region = crop_region(clean)
    zoom = zoom_factor(region[2])
    tag = f"sigma{sigma:g}"
    frames = [("clean", outlined(to_display(clean, top), region), "clean; the box is zoomed "
               "below")]
    frames += [(m, to_display(panels[m], top), _caption(m, psnr[m], marks.get(m)))
               for m in ["noisy", *(m for m in methods if m in marks)]]
    parts = ["<div class='frames'>"]
    for label, pixels, caption in frames:
        parts.append(_figure(folder, f"frame_{tag}_{_slug(label)}.png", pixels, caption,
                             "frame " + marks.get(label, ""), FRAME))
    t, left, side = region
    parts += ["</div>", f"<p class='note'>Zoomed: rows {t}-{t + side - 1}, columns "
                        f"{left}-{left + side - 1} (the {side}x{side} window of the clean "
                        f"image with the most structure), {zoom}x, one block per pixel; "
                        f"methods by "
                        f"PSNR on this image, best first.</p>", "<div class='crops'>"]
    for label in ["clean", "noisy", *methods]:
        caption = "clean" if label == "clean" else _caption(label, psnr[label], marks.get(label))
        parts.append(_figure(folder, f"crop_{tag}_{_slug(label)}.png",
                             zoomed(to_display(panels[label], top), region, zoom), caption,
                             "crop " + marks.get(label, "")))
    parts.append("</div>")
    return "\n".join(parts)


def best_marks(methods):
    """``{method: "best-ours" | "best-ref"}`` for the first of ours and the first
    reference in `methods` (ranked best first)."""
    marks = {}
    for method in methods:
        kind = "best-ref" if REGISTRY[method].is_reference else "best-ours"
        if kind not in marks.values():
            marks[method] = kind
    return marks


def find_chromium():
    """The path of a Chromium (or Chrome) executable on PATH, or None."""
    return next((path for name in CHROMIUM if (path := shutil.which(name))), None)


def screenshot(page, png, *, width=1400, height=3000, chromium=None, timeout=180):
    """Render the HTML file `page` with headless Chromium into `png`: `width` pixels
    wide and as tall as the page (the window grows until the page's end shows,
    blank rows below it are cut). Returns the image's ``(height, width)``.

    Raises ImageIOError when no Chromium is found or it fails.
    """
    import imageio.v3 as iio

    chromium = chromium or find_chromium()
    if chromium is None:
        raise ImageIOError(f"rendering {page} needs Chromium (e.g. apt install chromium)")
    url = Path(page).resolve().as_uri()
    while True:
        image = _render(chromium, url, width, height, timeout)
        last = _last_content_row(image)
        if image.shape[0] - last > 200 or height >= 16000:
            break
        height = min(2 * height, 16000)
    image = image[:min(image.shape[0], last + 40)]
    write_atomic(png, lambda f: f.write(iio.imwrite("<bytes>", image, extension=".png")))
    return image.shape[:2]


# --- helpers ------------------------------------------------------------------------

def _render(chromium, url, width, height, timeout):
    import imageio.v3 as iio

    with tempfile.TemporaryDirectory(prefix="denoise-render-") as tmp:
        out = Path(tmp) / "page.png"
        command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                   "--no-first-run", "--disable-background-networking",
                   "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                   f"--user-data-dir={Path(tmp) / 'profile'}",
                   f"--window-size={width},{height}", f"--screenshot={out}", url]
        try:
            run = subprocess.run(command, capture_output=True, timeout=timeout, text=True)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ImageIOError(f"{chromium} could not render {url}: {exc}") from None
        if run.returncode != 0 or not out.is_file():
            tail = (run.stderr or "").strip().splitlines()[-1:]
            raise ImageIOError(f"{chromium} could not render {url} (exit code "
                               f"{run.returncode}): {' '.join(tail)}")
        return iio.imread(out)[..., :3]


def _last_content_row(image):
    """Index of the last row that differs from the page background (its corner pixel)."""
    differs = np.any(np.abs(image.astype(np.int16) - image[-1, 0].astype(np.int16)) > 8,
                     axis=(1, 2))
    rows = np.flatnonzero(differs)
    return int(rows[-1]) if rows.size else 0


def _figure(folder, name, pixels, caption, classes, max_width=None):
    import imageio.v3 as iio

    write_atomic(Path(folder) / name,
                 lambda f: f.write(iio.imwrite("<bytes>", pixels, extension=".png")))
    h, w = pixels.shape[:2]
    if max_width and w > max_width:
        h, w = round(h * max_width / w), max_width
    alt = html.escape(caption.replace("<br>", ", "), quote=True)
    return (f"<figure class='{classes.strip()}'><img src='{html.escape(name)}' width='{w}' "
            f"height='{h}' alt='{alt}'><figcaption>{caption}</figcaption></figure>")


def _caption(method, psnr, mark):
    note = {"best-ours": " (best of ours)", "best-ref": " (best reference)"}.get(mark, "")
    return f"{html.escape(method)}{note}<br>{psnr:.2f} dB"


def _slug(label):
    return label.replace(":", "-")
