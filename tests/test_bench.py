"""`denoise bench`: the noise protocol, the table, CSV/JSON, plots and the HTML report."""
import csv
import json
from html.parser import HTMLParser

import imageio.v3 as iio
import numpy as np
import pytest

from denoise.bench import BenchResult, run_bench
from denoise.cli import main
from denoise.io import iter_images, read_image, write_image
from denoise.metrics import psnr
from denoise.protocol import clean_image, noisy_image

from conftest import ROOT, SAMPLES


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Two small gray images (crops of the samples), names out of sorted order on disk."""
    folder = tmp_path_factory.mktemp("set")
    write_image(folder / "b.png", read_image(SAMPLES / "clean" / "camera.png")[60:108, 80:120])
    write_image(folder / "a.png", read_image(SAMPLES / "clean" / "coins.png")[:40, :44])
    return folder


@pytest.fixture(scope="module")
def color_dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cset")
    write_image(folder / "c.png", read_image(SAMPLES / "clean" / "chelsea.png")[:36, :40])
    return folder


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        self.links += [v for k, v in attrs if k in ("src", "href")]


def invoke(runner, *args):
    return runner.invoke(main, ["-q", *map(str, args)])


def test_noise_protocol(dataset):
    """noisy = clean + default_rng(index).normal(0, sigma), sorted order, not clipped."""
    paths = iter_images(dataset)
    assert [p.name for p in paths] == ["a.png", "b.png"]
    clean, data_range = clean_image(paths[1])
    assert data_range == 255.0 and clean.dtype == np.float64
    noisy = noisy_image(clean, 50.0, 1)
    expected = read_image(paths[1]).astype(np.float64) \
        + np.random.default_rng(1).normal(0, 50.0, clean.shape)
    np.testing.assert_array_equal(noisy, expected)
    assert noisy.min() < 0 or noisy.max() > 255                 # not clipped


def test_two_runs_see_the_same_noisy_images(dataset):
    a = run_bench(dataset, [25.0], ["median"])
    b = run_bench(dataset, [25.0], ["median"])
    assert [(s.image, s.psnr, s.ssim) for s in a.noisy + a.samples] == \
           [(s.image, s.psnr, s.ssim) for s in b.noisy + b.samples]
    for sample in a.noisy:                     # the noisy row is the clipped protocol input
        clean, _ = clean_image(dataset / sample.image)
        noisy = np.clip(noisy_image(clean, 25.0, sample.index), 0, 255)
        assert sample.psnr == pytest.approx(psnr(clean, noisy, data_range=255))


def test_bench_report(runner, dataset, tmp_path):
    report = tmp_path / "report"
    result = invoke(runner, "bench", "--dataset", dataset, "--sigma", "15,30",
                    "-m", "median", "--against", "scipy-median", "--report", report)
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in ["method", "PSNR dB", "SSIM", "s/image", "Mpx/s", "peak MB", "first call",
                 "noisy", "median", "ref:scipy-median", "2 images", "thread"]:
        assert text in out

    rows = list(csv.DictReader((report / "summary.csv").open()))
    assert {(r["method"], float(r["sigma"])) for r in rows} == {
        (m, s) for m in ("noisy", "median", "ref:scipy-median") for s in (15.0, 30.0)}
    by = {(r["method"], float(r["sigma"])): r for r in rows}
    for sigma in (15.0, 30.0):                 # our median is scipy's, exactly
        assert by[("median", sigma)]["psnr"] == by[("ref:scipy-median", sigma)]["psnr"]
        assert float(by[("median", sigma)]["psnr"]) > float(by[("noisy", sigma)]["psnr"])
        assert float(by[("median", sigma)]["seconds"]) > 0
        assert int(by[("median", sigma)]["n"]) == 2
    images = list(csv.DictReader((report / "images.csv").open()))
    assert len(images) == 3 * 2 * 2
    data = json.loads((report / "results.json").read_text())
    assert data["threads"] >= 1 and data["images"] == ["a.png", "b.png"]
    assert "numpy" in data["environment"]["packages"]
    assert set(data["first_call_s"]) == {"median", "ref:scipy-median"}

    parser = Links()
    parser.feed((report / "index.html").read_text())
    assert parser.links and not any(":" in link for link in parser.links)   # no network
    for link in parser.links:
        assert (report / link).is_file(), link
    pngs = [link for link in parser.links if link.endswith(".png")]
    assert {"psnr.png", "frontier.png"} <= set(pngs)
    for sigma in ("15", "30"):
        assert {f"frame_sigma{sigma}_clean.png", f"frame_sigma{sigma}_noisy.png"} | {
            f"crop_sigma{sigma}_{m}.png" for m in ("clean", "noisy", "median",
                                                   "ref-scipy-median")} <= set(pngs)
    for png in pngs:
        assert iio.imread(report / png).shape[0] >= 40


def test_existing_report_needs_overwrite(runner, dataset, tmp_path):
    report = tmp_path / "r"
    args = ["bench", "--dataset", dataset, "-m", "median", "--against", "none",
            "--report", report]
    assert invoke(runner, *args).exit_code == 0
    before = (report / "index.html").read_bytes()
    again = invoke(runner, *args)
    assert again.exit_code == 2 and "--overwrite" in again.stderr
    assert (report / "index.html").read_bytes() == before
    assert invoke(runner, *args, "--overwrite").exit_code == 0


def test_limit_method_adds_common_table(runner, dataset):
    result = invoke(runner, "bench", "--dataset", dataset, "-m", "median",
                    "--against", "ref:skimage-tv", "--limit-method", "ref:skimage-tv=1")
    assert result.exit_code == 0, result.output
    assert "On the 1 images every method ran" in result.stdout


def test_color_dataset(runner, color_dataset, tmp_path):
    result = invoke(runner, "bench", "--dataset", color_dataset, "-m", "bilateral",
                    "--against", "none", "--report", tmp_path / "r")
    assert result.exit_code == 0, result.output
    crop = iio.imread(tmp_path / "r" / "crop_sigma25_bilateral.png")
    assert crop.ndim == 3 and crop.shape[2] == 3


@pytest.mark.parametrize("args, message", [
    (["--against", "ref:nope"], "not an installed reference"),
    (["--against", "median"], "not an installed reference"),
    (["--sigma", "25,-1"], "> 0"),
    (["--limit-method", "median=0"], "positive"),
    (["--limit-method", "bilateral=1"], "not in the run"),
    (["--montage", "zzz.png"], "montage"),
])
def test_bad_arguments(runner, dataset, args, message):
    result = invoke(runner, "bench", "--dataset", dataset, "-m", "median", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_empty_dataset(runner, tmp_path):
    result = invoke(runner, "bench", "--dataset", tmp_path, "-m", "median")
    assert result.exit_code == 2 and "no images" in result.stderr


def test_json_round_trip(dataset):
    from denoise.report import markdown

    result = run_bench(dataset, [20.0, 40.0], ["median", "ref:scipy-median"],
                       method_limits={"ref:scipy-median": 1})
    again = BenchResult.from_json(json.loads(json.dumps(result.to_json())))
    assert again.summaries() == result.summaries()
    assert again.common_images() == {"a.png"}
    text = markdown(again, "tiny")
    assert "### tiny" in text and "ref:scipy-median" in text and "(n=1)" in text


def test_failing_method_is_named_and_no_report_written(runner, dataset, tmp_path,
                                                       monkeypatch):
    import dataclasses

    from denoise.registry import REGISTRY

    def broken(image, **kwargs):
        if image.shape[0] > 44:                # the warm-up crop and a.png pass, b.png fails
            raise ValueError("boom")
        return image

    monkeypatch.setitem(REGISTRY, "median", dataclasses.replace(REGISTRY["median"],
                                                                func=broken))
    result = invoke(runner, "bench", "--dataset", dataset, "-m", "median", "--against",
                    "none", "--report", tmp_path / "r")
    assert result.exit_code == 1
    assert "median failed on" in result.stderr and "b.png" in result.stderr
    assert "boom" in result.stderr
    assert not (tmp_path / "r").exists()


def test_summarize_writes_benchmarks_md(runner, dataset, tmp_path):
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import summarize
    finally:
        sys.path.pop(0)
    reports = tmp_path / "report"
    assert invoke(runner, "bench", "--dataset", dataset, "-m", "median", "--against",
                  "none", "--report", reports / "tiny").exit_code == 0
    output = tmp_path / "BENCHMARKS.md"
    summarize.main([str(reports), "tiny", "--output", str(output)])
    text = output.read_text()
    assert "# Benchmarks" in text and "### tiny" in text and "| median |" in text
    parser = Links()
    parser.feed((reports / "index.html").read_text())
    assert parser.links == ["tiny/index.html"]
    assert (reports / "tiny" / "index.html").is_file()


def test_impulse_noise_protocols(dataset):
    """salt-pepper: impulses only, seed = index; mixed: the Gaussian image, then impulses."""
    clean, _ = clean_image(iter_images(dataset)[0])
    salt = noisy_image(clean, 0.3, 0, "salt-pepper", top=255.0)
    changed = salt != clean
    assert set(np.unique(salt[changed])) <= {0.0, 255.0}
    assert abs(((salt == 0) | (salt == 255)).mean() - 0.3) < 0.05
    mixed = noisy_image(clean, 15.0, 0, "mixed", 255.0, density=0.1)
    gaussian = noisy_image(clean, 15.0, 0)
    kept = (mixed != 0) & (mixed != 255)
    np.testing.assert_array_equal(mixed[kept], gaussian[kept])
    assert abs(1 - kept.mean() - 0.1) < 0.03


def test_bench_salt_pepper_and_mixed(runner, dataset, tmp_path):
    result = invoke(runner, "bench", "--dataset", dataset, "--noise", "salt-pepper",
                    "--sigma", "0.2", "-m", "median", "-m", "adaptive-median",
                    "--against", "scipy-median", "--report", tmp_path / "sp")
    assert result.exit_code == 0, result.output
    assert "salt-pepper noise, impulse density 0.2" in result.stdout
    data = json.loads((tmp_path / "sp" / "results.json").read_text())
    assert data["noise"] == "salt-pepper"
    by = {s["method"]: s for s in data["summary"]}
    assert by["adaptive-median"]["psnr"] > by["median"]["psnr"] > by["noisy"]["psnr"]
    assert by["median"]["psnr"] == by["ref:scipy-median"]["psnr"]     # no sigma: size 3
    result = invoke(runner, "bench", "--dataset", dataset, "--noise", "mixed", "--sigma", "15",
                    "--density", "0.1", "-m", "weighted-median", "--against", "none")
    assert result.exit_code == 0, result.output
    assert "mixed noise, sigma 15 (image units), density 0.1" in result.stdout


@pytest.mark.parametrize("args, match", [
    (["--noise", "salt-pepper", "--sigma", "0.1", "-m", "nlm"], "nlm needs sigma"),
    (["--noise", "salt-pepper", "--sigma", "25", "-m", "median"], "fraction of samples"),
    (["--noise", "mixed", "--density", "1.5"], "density is a fraction"),
    (["--noise", "gaussian", "--density", "0.1"], "density applies to mixed noise"),
])
def test_bench_noise_errors(runner, dataset, args, match):
    result = invoke(runner, "bench", "--dataset", dataset, "--against", "none", *args)
    assert result.exit_code == 2 and match in result.output


def test_bench_estimates_sigma_where_the_noise_implies_none(runner, dataset, color_dataset):
    """Poisson-Gaussian and camera noise give no sigma: nlm gets it estimated (as run
    does); camera noise is scored against its own truth, so the noisy row differs from
    a score against the clean image."""
    result = invoke(runner, "bench", "--dataset", dataset, "--noise", "poisson-gaussian",
                    "--sigma", "0.01", "--offset", "0.0001", "-m", "nlm", "--against", "none")
    assert result.exit_code == 0, result.output
    assert "poisson-gaussian noise, gain 0.01 (image units)" not in result.stdout
    assert "poisson-gaussian noise, gain 0.01, offset 0.0001" in result.stdout
    camera = invoke(runner, "bench", "--dataset", color_dataset, "--noise", "camera",
                    "--sigma", "1", "-m", "nlm", "--against", "none")
    assert camera.exit_code == 0, camera.output
    assert "camera noise" in camera.stdout


# --- ranking, highlights, --against and -p ------------------------------------------

class Rows(HTMLParser):
    """Each table row of a page: (class attribute, first cell's text)."""

    def __init__(self):
        super().__init__()
        self.rows, self._cls, self._cells = [], None, None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._cls, self._cells = dict(attrs).get("class", ""), []
        elif tag in ("td", "th") and self._cells is not None:
            self._cells.append("")

    def handle_data(self, data):
        if self._cells:
            self._cells[-1] += data

    def handle_endtag(self, tag):
        if tag == "tr" and self._cells:
            self.rows.append((self._cls, self._cells[0].split()[0]))
            self._cells = None


def test_tables_rank_by_psnr_and_mark_the_best(runner, dataset, tmp_path):
    from denoise.report import ranked

    result = invoke(runner, "bench", "--dataset", dataset, "--sigma", "15,40", "-m", "median",
                    "-m", "bilateral", "--against", "scipy-median", "--against",
                    "opencv-bilateral", "--report", tmp_path)
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "results.json").read_text())
    psnr = {(r["method"], r["sigma"]): r["psnr"] for r in data["summary"]}
    lines = result.stdout.splitlines()[2:]
    page = Rows()
    page.feed((tmp_path / "index.html").read_text())
    rows = [(cls, name) for cls, name in page.rows if name != "method"][:10]
    for k, sigma in enumerate((15.0, 40.0)):
        group = [line for line in lines[k * 6:k * 6 + 5] if line.strip()]
        names = [line[2:].split()[0] for line in group]
        assert names[-1] == "noisy"
        values = [psnr[(n, sigma)] for n in names[:-1]]
        assert values == sorted(values, reverse=True)              # best first
        best_ours = max((m for m in ("median", "bilateral")), key=lambda m: psnr[(m, sigma)])
        best_ref = max(("ref:scipy-median", "ref:opencv-bilateral"),
                       key=lambda m: psnr[(m, sigma)])
        marked = {line[2:].split()[0]: line[0] for line in group if line[0] != " "}
        assert marked == {best_ours: "*", best_ref: "+"}
        html_rows = rows[k * 5:k * 5 + 5]
        assert [name for _, name in html_rows] == names
        classes = {name: cls.split() for cls, name in html_rows}
        assert "best-ours" in classes[best_ours] and "best-ref" in classes[best_ref]
        assert sum("best-ours" in c or "best-ref" in c for c in classes.values()) == 2
        assert classes["noisy"] == ["noisy"] and "ref" in classes["ref:scipy-median"]
    assert "(* best of ours, + best reference at each σ; best PSNR first)" in result.stdout
    summaries = [r for r, _ in ranked(BenchResult.from_json(data).summaries())]
    assert [r.method for r in summaries[:5]] == [line[2:].split()[0] for line in lines[:5]]


def test_against_defaults_to_the_families_run(runner, dataset):
    from denoise.bench import resolve_references
    from denoise.registry import REGISTRY, our_methods, references

    def family(name):
        return [r for r in references() if REGISTRY[r].family == name]

    assert resolve_references((), ["nlm"]) == family("nlm")
    assert resolve_references((), ["median", "nlm"]) == sorted(family("median") +
                                                                 family("nlm"))
    default = resolve_references((), our_methods())
    ours = {REGISTRY[m].family for m in our_methods()}
    assert all(REGISTRY[r].family in ours for r in default)
    assert "ref:bm3d" not in default and "ref:skimage-tv" not in default
    assert resolve_references(["all"], ["nlm"]) == references()
    assert resolve_references(["none"], ["nlm"]) == []
    if "ref:bm3d" in REGISTRY:
        assert resolve_references(["bm3d"], ["nlm"]) == ["ref:bm3d"]
    result = invoke(runner, "bench", "--dataset", dataset, "-m", "median")
    assert result.exit_code == 0, result.output
    shown = {line[2:].split()[0] for line in result.stdout.splitlines()[2:] if line[2:].strip()}
    assert set(family("median")) <= shown and not shown & {"ref:skimage-tv", "ref:bm3d"}
    mixed = invoke(runner, "bench", "--dataset", dataset, "-m", "median", "--against", "all",
                   "--against", "ref:scipy-median")
    assert mixed.exit_code == 2 and "stand alone" in mixed.stderr


def test_param_reaches_the_method(runner, dataset, tmp_path):
    """-p radius=2 gives what median(noisy, radius=2) gives, not the sigma rule's radius."""
    from denoise import median

    scores = {}
    for radius in ("1", "2"):
        out = tmp_path / radius
        result = invoke(runner, "bench", "--dataset", dataset, "-m", "median", "--against",
                        "none", "-p", f"radius={radius}", "--report", out)
        assert result.exit_code == 0, result.output
        assert f"parameters median radius={radius}" in result.stdout
        data = json.loads((out / "results.json").read_text())
        assert data["params"] == {"median": {"radius": int(radius)}}
        assert f"radius={radius}</span>" in (out / "index.html").read_text()
        for s in data["samples"]:
            if s["method"] != "median":
                continue
            clean, _ = clean_image(dataset / s["image"])
            noisy = noisy_image(clean, 25.0, s["index"])
            direct = np.clip(median(noisy / 255, sigma=25 / 255, radius=int(radius)) * 255,
                             0, 255)
            assert s["psnr"] == pytest.approx(psnr(clean, direct, data_range=255), abs=1e-9)
            scores[(radius, s["image"])] = s["psnr"]
    assert scores[("1", "a.png")] != scores[("2", "a.png")]


def test_param_intensities_are_in_image_units(dataset):
    """nlm's h given as its sigma rule's value (image units) changes nothing; a plain
    key reaches every -m method that has it, METHOD.KEY wins over it."""
    from denoise.bench_params import resolve_params
    from denoise import ImageInfo
    from denoise.registry import REGISTRY

    h = REGISTRY["nlm"].resolve(ImageInfo.typical("uint8"), 25.0)["h"]
    plain = run_bench(dataset, [25.0], ["nlm"])
    given = run_bench(dataset, [25.0], ["nlm"], params={"nlm": {"h": h}})
    assert [s.psnr for s in given.samples] == pytest.approx([s.psnr for s in plain.samples],
                                                            abs=1e-6)
    stronger = run_bench(dataset, [25.0], ["nlm"], params={"nlm": {"h": 3 * h}})
    assert stronger.summaries()[1].psnr < plain.summaries()[1].psnr - 0.5
    params = resolve_params({"h": "9", "weighted-median.h": "4"},
                            ["nlm", "weighted-median", "median"],
                            ["nlm", "weighted-median", "median", "ref:skimage-nlm"])
    assert params == {"nlm": {"h": 9.0}, "weighted-median": {"h": 4.0}}


@pytest.mark.parametrize("args, message", [
    (["-m", "median", "-p", "h=2"], "no method chosen (median) has a parameter 'h'"),
    (["-m", "median", "-p", "nlm.h=2"], "'nlm' is not in the run"),
    (["-m", "median", "-p", "radius=-1"], "radius must be an integer >= 0"),
    (["-m", "median", "-p", "radius=two"], "radius must be of type int"),
    (["-m", "median", "-p", "radius"], "expected KEY=VALUE"),
])
def test_bad_params(runner, dataset, args, message):
    result = invoke(runner, "bench", "--dataset", dataset, "--against", "none", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
