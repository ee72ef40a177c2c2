"""The bench report as a reader sees it: plots that keep their text inside the frame
and their labels apart, the one-level bar chart, zoomed crops of one and the same
window, and the whole page rendered by headless Chromium."""
import itertools

import imageio.v3 as iio
import numpy as np
import pytest

from denoise.bench import BenchResult, Sample, run_bench
from denoise.io import read_image, write_image
from denoise.registry import REGISTRY, our_methods, references
from denoise.report import write_report
from denoise.report_images import (crop_region, find_chromium, screenshot, to_display,
                                   zoom_factor)
from denoise.report_plots import frontier_figure, quality_figure, styles, text_boxes

from conftest import SAMPLES

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A bench of two cheap methods on two small sample crops, at two levels."""
    folder = tmp_path_factory.mktemp("set")
    write_image(folder / "a.png", read_image(SAMPLES / "clean" / "camera.png")[40:120, 60:150])
    write_image(folder / "b.png", read_image(SAMPLES / "clean" / "coins.png")[:48, :52])
    result = run_bench(folder, [15.0, 30.0], ["median", "ref:scipy-median"],
                       params={"median": {"radius": 2}})
    return folder, result


def crowded(sigmas, seed=3):
    """Every installed method, all close together in PSNR and time (labels collide)."""
    rng = np.random.default_rng(seed)
    methods = our_methods() + references()
    result = BenchResult(dataset="/data/Crowded", sigmas=list(sigmas), methods=methods,
                         threads=2, data_range=255.0, images=["x.png"])
    for sigma in sigmas:
        result.noisy.append(Sample("noisy", sigma, "x.png", 0, 4096, 20.0, 0.4, 0.0, None))
        for method in methods:
            psnr = 27.0 + rng.normal(0, 0.1) - sigma / 50
            seconds = 0.01 * 1.1 ** rng.normal(0, 1)
            result.samples.append(Sample(method, sigma, "x.png", 0, 4096, psnr, 0.8,
                                         seconds, 1.0))
    same = [m for m in methods if REGISTRY[m].family == "median"]    # exactly coinciding
    for sample in list(result.samples):
        if sample.method in same[1:]:
            twin = next(s for s in result.samples if s.method == same[0]
                        and s.sigma == sample.sigma)
            result.samples[result.samples.index(sample)] = Sample(
                sample.method, sample.sigma, "x.png", 0, 4096, twin.psnr, twin.ssim,
                twin.seconds, 1.0)
    return result


def inside(fig):
    width, height = fig.canvas.get_width_height()
    return [(text, box) for text, box in text_boxes(fig)
            if box.x0 < -0.5 or box.y0 < -0.5 or box.x1 > width + 0.5 or box.y1 > height + 0.5]


@pytest.mark.parametrize("sigmas", [[25.0], [15.0, 25.0, 50.0]])
def test_point_labels_never_overlap_and_text_stays_in_the_frame(sigmas):
    from matplotlib.text import Text

    fig = frontier_figure(crowded(sigmas))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        if not ax.texts:
            continue
        assert len(ax.texts) == len(our_methods() + references())
        boxes = [(t.get_text(), Text.get_window_extent(t, renderer)) for t in ax.texts]
        frame = ax.get_window_extent(renderer)
        for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
            assert not box_a.overlaps(box_b), (a, b)
        for name, box in boxes:
            assert frame.x0 <= box.x0 and box.x1 <= frame.x1, name
            assert frame.y0 <= box.y0 and box.y1 <= frame.y1, name
    assert inside(fig) == []
    assert inside(quality_figure(crowded(sigmas))) == []


def test_one_level_draws_bars_not_a_column_of_dots():
    fig = quality_figure(crowded([25.0]))
    (ax,) = fig.axes
    assert not ax.lines and len(ax.patches) == len(our_methods() + references()) + 1
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1] == "noisy"
    widths = [p.get_width() for p in ax.patches][:-1]
    assert widths == sorted(widths, reverse=True)          # best first


def test_coinciding_methods_stay_visible():
    result = crowded([15.0, 25.0])
    same = [m for m in result.methods if REGISTRY[m].family == "median"]
    assert len(same) >= 2
    look = styles(result.methods)
    assert len({(look[m]["marker"], look[m]["filled"]) for m in same}) == len(same)
    fig = quality_figure(result)
    lines = {line.get_label().split(" (")[0]: line for line in fig.axes[0].lines}
    xs = {tuple(lines[m].get_xdata()) for m in same}
    ys = {tuple(lines[m].get_ydata()) for m in same}
    assert len(ys) == 1 and len(xs) == len(same)            # same values, side by side


def test_crop_region_finds_the_detail():
    image = np.full((120, 150), 100.0)
    image[70:95, 30:60] = np.random.default_rng(0).uniform(0, 255, (25, 30))
    top, left, side = crop_region(image, side=40)
    assert side == 40 and top <= 70 and top + side >= 95 and left <= 30 and left + side >= 60
    assert crop_region(image[:30, :50])[2] == 30                # small images: all of it


def test_crops_show_the_same_window_for_every_method(tiny, tmp_path):
    folder, result = tiny
    write_report(result, tmp_path)
    clean = read_image(folder / result.montage_image)
    top, left, side = crop_region(clean.astype(np.float64))
    zoom = zoom_factor(side)
    page = (tmp_path / "index.html").read_text()
    assert f"rows {top}-{top + side - 1}, columns {left}-{left + side - 1}" in page
    for sigma in result.sigmas:
        panels = result.montage[sigma]
        for label, slug in [("clean", "clean"), ("noisy", "noisy"), ("median", "median"),
                            ("ref:scipy-median", "ref-scipy-median")]:
            crop = iio.imread(tmp_path / f"crop_sigma{sigma:g}_{slug}.png")
            assert crop.shape == (side * zoom, side * zoom)
            np.testing.assert_array_equal(crop[::zoom, ::zoom], to_display(
                panels[label], 255.0)[top:top + side, left:left + side])
            assert f"crop_sigma{sigma:g}_{slug}.png" in page
        np.testing.assert_array_equal(
            iio.imread(tmp_path / f"crop_sigma{sigma:g}_clean.png")[::zoom, ::zoom],
            clean[top:top + side, left:left + side])
        frame = iio.imread(tmp_path / f"frame_sigma{sigma:g}_clean.png")
        assert tuple(frame[top - 1 if top else top + side, left + side // 2]) == (230, 30, 30)


def test_report_renders_in_a_browser(tiny, tmp_path):
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed (Debian: apt install chromium); the report "
                    "page is not rendered")
    _, result = tiny
    page = write_report(result, tmp_path / "report")
    height, width = screenshot(page, tmp_path / "page.png", width=1000, height=1500,
                               chromium=chromium)
    image = iio.imread(tmp_path / "page.png")
    assert image.shape[:2] == (height, width) and width == 1000
    assert 1500 < height < 16000                      # grown to the whole page
    rgb = image[..., :3].astype(int)
    assert (rgb.min(axis=2) < 128).mean() > 0.01      # text and images, not a blank page
    assert (rgb[-30:] >= 250).all()                    # the page's end, with a margin
    green = np.all(np.abs(rgb - (212, 240, 212)) <= 2, axis=2)
    blue = np.all(np.abs(rgb - (214, 228, 250)) <= 2, axis=2)
    assert green.sum() > 500 and blue.sum() > 500      # best of ours, best reference
