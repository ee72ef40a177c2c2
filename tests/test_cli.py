"""The command line, through Click's runner: every command, exit codes, failures."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from denoise.cli import main
from denoise.io import read_image, write_image
from denoise.registry import REGISTRY

from conftest import ROOT, random_image


@pytest.fixture
def images(tmp_path):
    """A folder with a gray uint8 PNG, an RGB uint8 PNG and a 16-bit TIFF."""
    folder = tmp_path / "in"
    write_image(folder / "a.png", random_image((20, 24), np.uint8, seed=1))
    write_image(folder / "b.png", random_image((20, 24, 3), np.uint8, seed=2))
    write_image(folder / "c.tif", random_image((20, 24), np.uint16, seed=3))
    return folder


def invoke(runner, *args):
    return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_run_one_file(runner, images, tmp_path):
    out = tmp_path / "clean.png"
    result = invoke(runner, "run", images / "b.png", "-o", out, "-m", "median")
    assert result.exit_code == 0, result.stderr
    back = read_image(out)
    assert back.shape == (20, 24, 3) and back.dtype == np.uint8


def test_run_folder_keeps_names_and_dtypes(runner, images, tmp_path):
    """The default method (attention) on a folder of 8-bit and 16-bit files."""
    result = invoke(runner, "run", images, "-o", tmp_path / "out", "--sigma", "20/255",
                    "--threads", "1")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png", "c.tif"]
    assert read_image(tmp_path / "out" / "c.tif").dtype == np.uint16
    assert "3 written" in result.stderr


def test_corrupt_file_in_folder(runner, images, tmp_path):
    (images / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    result = invoke(runner, "run", images, "-o", tmp_path / "out", "-m", "median")
    assert result.exit_code == 1
    assert "broken.png" in result.stderr and "cannot read" in result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png", "c.tif"]


def test_unknown_method_lists_choices(runner, images, tmp_path):
    result = invoke(runner, "run", images, "-o", tmp_path / "out", "-m", "nml")
    assert result.exit_code == 2
    for name in REGISTRY:
        assert name in result.stderr
    assert not (tmp_path / "out").exists()


def test_an_output_newer_than_its_input_is_skipped_unless_overwrite(runner, images, tmp_path):
    out = tmp_path / "o.png"
    write_image(out, np.zeros((20, 24), np.uint8))
    before = out.read_bytes()
    result = invoke(runner, "run", images / "a.png", "-o", out, "-m", "median")
    assert result.exit_code == 0
    assert "1 skipped (up to date)" in result.stderr
    assert out.read_bytes() == before
    assert invoke(runner, "run", images / "a.png", "-o", out, "-m", "median",
                  "--skip-existing").exit_code == 0
    assert out.read_bytes() == before
    assert invoke(runner, "run", images / "a.png", "-o", out, "-m", "median",
                  "--overwrite").exit_code == 0
    assert out.read_bytes() != before


def test_never_overwrites_the_input(runner, images):
    before = (images / "a.png").read_bytes()
    result = invoke(runner, "run", images / "a.png", "-o", images / "a.png", "-m", "median",
                    "--overwrite")
    assert result.exit_code == 2 and "input" in result.stderr
    assert (images / "a.png").read_bytes() == before


def test_sigma_is_estimated_by_default(runner, tmp_path):
    """No --sigma: each file's own estimate (logged to --log), close to the true sigma,
    in its own units (8-bit and 16-bit files in one folder)."""
    clean = np.full((96, 96), 0.5)
    folder = tmp_path / "in"
    for name, dtype, top in (("a.png", np.uint8, 255), ("b.tif", np.uint16, 65535)):
        noisy = clean + np.random.default_rng(4).normal(0.0, 20 / 255, clean.shape)
        write_image(folder / name, np.rint(np.clip(noisy, 0, 1) * top).astype(dtype))
    log = tmp_path / "log.json"
    result = invoke(runner, "-v", "run", folder, "-o", tmp_path / "out", "-m", "bilateral",
                    "--log", log)
    assert result.exit_code == 0, result.stderr
    records = {Path(r["input"]).name: r["noise"] for r in json.loads(log.read_text())["files"]}
    assert records["a.png"]["estimated"] and records["a.png"]["model"] == "gaussian"
    assert records["a.png"]["sigma"][0] == pytest.approx(20, rel=0.1)
    assert records["b.tif"]["sigma"][0] == pytest.approx(20 * 257, rel=0.1)
    assert "a.png: gaussian noise, sigma" in result.stderr          # -v logs each estimate
    assert read_image(tmp_path / "out" / "a.png").std() < 0.5 * 20


def test_sigma_in_image_units_on_mixed_ranges_is_refused(runner, images, tmp_path):
    result = invoke(runner, "run", images, "-o", tmp_path / "out", "--sigma", "20")
    assert result.exit_code == 2
    assert "a.png ranges over 0-255" in result.stderr and "c.tif over 0-65535" in result.stderr
    assert not (tmp_path / "out").exists()
    for relative in ("7.8%", "20/255"):
        ok = invoke(runner, "run", images, "-o", tmp_path / relative.replace("/", "_"),
                    "-m", "median", "--sigma", relative)
        assert ok.exit_code == 0, ok.stderr


@pytest.mark.parametrize("sigma", ["-3", "zero", "0%", "5/0"])
def test_bad_sigma_is_a_usage_error(runner, images, tmp_path, sigma):
    result = invoke(runner, "run", images, "-o", tmp_path / "out", "--sigma", sigma)
    assert result.exit_code == 2 and "sigma must be auto" in result.stderr


def test_estimate_prints_each_file(runner, images):
    result = invoke(runner, "estimate", images, "--format", "json")
    assert result.exit_code == 0, result.stderr
    found = {Path(r["name"]).name: r for r in json.loads(result.stdout)["images"]}
    assert sorted(found) == ["a.png", "b.png", "c.tif"]
    assert len(found["b.png"]["sigma"]) == 3 and found["c.tif"]["data_range"] == 65535
    table = invoke(runner, "estimate", images / "a.png")
    assert table.exit_code == 0 and "a.png" in table.stdout and "gaussian" in table.stdout


@pytest.mark.parametrize("param, match", [
    ("radius", "KEY=VALUE"), ("size=3", "valid parameters: radius"),
    ("radius=two", "radius must be of type int"), ("radius=-2", "radius must be an integer >= 0")])
def test_bad_params_are_usage_errors(runner, images, tmp_path, param, match):
    result = invoke(runner, "run", images, "-o", tmp_path / "out", "-m", "median", "-p", param)
    assert result.exit_code == 2
    assert match in result.stderr


def test_params_change_the_result(runner, images, tmp_path):
    for radius in (1, 3):
        assert invoke(runner, "run", images / "a.png", "-o", tmp_path / f"r{radius}.png",
                      "-m", "median", "-p", f"radius={radius}").exit_code == 0
    assert (read_image(tmp_path / "r1.png") != read_image(tmp_path / "r3.png")).any()


def test_file_output_for_many_inputs_is_refused(runner, images, tmp_path):
    result = invoke(runner, "run", images, "-o", tmp_path / "x.png", "-m", "median")
    assert result.exit_code == 2 and "folder" in result.stderr


def test_methods(runner):
    listing = invoke(runner, "methods")
    assert listing.exit_code == 0
    for name, spec in REGISTRY.items():
        assert name in listing.stdout and spec.summary in listing.stdout
    detail = invoke(runner, "methods", "bilateral")
    assert detail.exit_code == 0
    for text in ["sigma_range", "sigma_spatial", "radius", "pilot", "Tomasi",
                 "--sigma 25", "image's units"]:
        assert text in detail.stdout
    assert invoke(runner, "methods", "nope").exit_code == 2


def test_noise_is_seeded(runner, images, tmp_path):
    for name in ("n1", "n2"):
        result = invoke(runner, "noise", images / "a.png", "-o", tmp_path / f"{name}.png",
                        "--kind", "gaussian", "--level", "30", "--seed", "7")
        assert result.exit_code == 0, result.stderr
    first = read_image(tmp_path / "n1.png")
    np.testing.assert_array_equal(first, read_image(tmp_path / "n2.png"))
    assert (first != read_image(images / "a.png")).any()
    bad = invoke(runner, "noise", images / "a.png", "-o", tmp_path / "n3.png",
                 "--kind", "salt-pepper", "--level", "3")
    assert bad.exit_code == 2 and "fraction" in bad.stderr


def test_eval_formats(runner, images, tmp_path):
    invoke(runner, "noise", images, "-o", tmp_path / "noisy", "--level", "10")
    table = invoke(runner, "eval", "--clean", images, "--denoised", tmp_path / "noisy")
    assert table.exit_code == 0, table.stderr
    assert "mean" in table.stdout and "c.tif" in table.stdout
    data = json.loads(invoke(runner, "eval", "--clean", images, "--denoised",
                             tmp_path / "noisy", "--format", "json").stdout)
    by_name = {row["name"]: row["psnr"] for row in data["images"]}
    assert by_name["a.png"] == pytest.approx(20 * np.log10(255 / 10), abs=0.5)  # sigma 10
    assert by_name["c.tif"] > 70                      # level 10 of 65535: barely any noise
    assert data["mean"]["psnr"] == pytest.approx(sum(by_name.values()) / 3)
    csv = invoke(runner, "eval", "--clean", images, "--denoised", tmp_path / "noisy",
                 "--format", "csv").stdout.splitlines()
    assert csv[0] == "name,psnr,ssim" and csv[-1].startswith("mean,")


def test_eval_unmatched_file_fails(runner, images, tmp_path):
    write_image(tmp_path / "den" / "zzz.png", np.zeros((20, 24), np.uint8))
    write_image(tmp_path / "den" / "a.png", np.zeros((20, 24), np.uint8))
    result = invoke(runner, "eval", "--clean", images, "--denoised", tmp_path / "den")
    assert result.exit_code == 1 and "zzz.png" in result.stderr
    assert "a.png" in result.stdout


@pytest.mark.parametrize("command", [[sys.executable, "-m", "denoise"],
                                     [sys.executable, str(ROOT / "cli.py")]])
def test_entry_points(command):
    result = subprocess.run(command + ["methods"], capture_output=True, text=True, check=True)
    assert "median" in result.stdout


def test_quiet_and_verbose_after_the_command(runner, images, tmp_path):
    for args in (["-q", "run"], ["run", "-q"]):
        result = invoke(runner, *args, images, "-o", tmp_path / args[0], "-m", "median")
        assert result.exit_code == 0, result.output
        assert result.stderr == ""
    loud = invoke(runner, "run", images, "-o", tmp_path / "v", "-m", "median", "-v")
    assert loud.exit_code == 0
    assert "median on 24x20 8-bit gray images: radius=1" in loud.stderr      # the plan
    assert "a.png ->" in loud.stderr and "3 written" in loud.stderr


def test_regress_works_from_any_directory(tmp_path):
    result = subprocess.run([sys.executable, "-m", "denoise", "regress", "-q", "-m", "median"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "median" in result.stdout and "ok" in result.stdout


def test_method_parameters_are_checked_before_estimation(runner, images, tmp_path):
    result = invoke(runner, "run", images, "-o", tmp_path / "out", "-m", "nlm", "-p", "h=12",
                    "-p", "patch_radius=3")
    assert result.exit_code == 0, result.stderr            # search_radius is a constant
    result = invoke(runner, "run", images, "-o", tmp_path / "out2", "-m", "nlm", "-p",
                    "patch_radius=-1")
    assert result.exit_code == 2 and "patch_radius" in result.stderr
    assert not (tmp_path / "out2").exists()


def test_first_compilation_is_announced(runner, images, tmp_path, monkeypatch):
    """The note comes before the wait, once, and only when a kernel is compiled."""
    import dataclasses

    from numba import njit

    @njit
    def fresh(work):                      # a kernel no process has compiled yet
        return work + 0.0

    spec = REGISTRY["median"]
    monkeypatch.setitem(REGISTRY, "median", dataclasses.replace(
        spec, native=False, apply=lambda work, plan: fresh(work)))
    result = invoke(runner, "run", images, "-o", tmp_path / "a", "-m", "median")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("compiling median kernels for first use") == 1
    again = invoke(runner, "run", images, "-o", tmp_path / "b", "-m", "median")
    assert "compiling" not in again.stderr


def test_warmup(runner):
    result = invoke(runner, "warmup", "median", "bilateral", "--dtype", "uint8")
    assert result.exit_code == 0, result.stderr
    assert "median:" in result.stderr and "bilateral:" in result.stderr
    assert invoke(runner, "warmup", "nope").exit_code == 2
    bad = invoke(runner, "warmup", "median", "--dtype", "int7")
    assert bad.exit_code == 2 and "int7" in bad.stderr


def test_noise_defaults_per_kind(runner, images, tmp_path):
    for kind in ("salt-pepper", "speckle", "poisson", "mixed"):
        result = invoke(runner, "noise", images / "a.png", "-o", tmp_path / f"{kind}.png",
                        "--kind", kind)
        assert result.exit_code == 0, (kind, result.stderr)
    speckled = read_image(tmp_path / "speckle.png")
    assert np.isin(speckled, (0, 255)).mean() < 0.05           # not saturated
    bad = invoke(runner, "noise", images / "a.png", "-o", tmp_path / "x.png", "--density", "0.2")
    assert bad.exit_code == 2 and "density applies to mixed" in bad.stderr


def test_methods_says_when_sigma_is_always_needed(runner):
    """nlm needs sigma only for the parameters it derives from it; attention fits its
    weights to sigma whatever the parameters; median never needs it."""
    def text(name):
        return runner.invoke(main, ["methods", name]).output

    assert "unless its sigma-derived parameters are given" in text("nlm")
    assert "whatever the parameters" in text("attention")
    assert "Needs --sigma" not in text("median")


def test_camera_noise_writes_its_truth(runner, tmp_path):
    """The camera pipeline processes the clean image too: --truth writes that, and the
    noisy file is compared with it, not with the input."""
    source = tmp_path / "rgb.png"
    write_image(source, random_image((24, 30, 3), np.uint8, seed=5))
    result = invoke(runner, "noise", source, "-o", tmp_path / "noisy.png", "--kind", "camera",
                    "--truth", tmp_path / "truth.png", "--seed", "2")
    assert result.exit_code == 0, result.stderr
    noisy, truth = read_image(tmp_path / "noisy.png"), read_image(tmp_path / "truth.png")
    assert noisy.shape == truth.shape == (24, 30, 3)
    from denoise.noise import add_noise
    expected = add_noise(read_image(source), "camera", seed=2, return_truth=True)
    np.testing.assert_array_equal(noisy, expected[0])
    np.testing.assert_array_equal(truth, expected[1])
    refused = invoke(runner, "noise", source, "-o", tmp_path / "g.png", "--truth",
                     tmp_path / "t2.png")
    assert refused.exit_code == 2 and "camera" in refused.stderr


def test_poisson_gaussian_noise_takes_an_offset(runner, tmp_path):
    source = tmp_path / "gray.png"
    write_image(source, np.full((64, 64), 128, np.uint8))
    for offset in ("0.0001", "0.01"):
        result = invoke(runner, "noise", source, "-o", tmp_path / f"n{offset}.png", "--kind",
                        "poisson-gaussian", "--level", "0.001", "--offset", offset)
        assert result.exit_code == 0, result.stderr
    quiet = read_image(tmp_path / "n0.0001.png").astype(float).std()
    loud = read_image(tmp_path / "n0.01.png").astype(float).std()
    # std = 255 sqrt(a x + b) at x = 0.5: 6.6 and 25.6
    assert quiet == pytest.approx(255 * np.sqrt(0.0005 + 0.0001), rel=0.1)
    assert loud == pytest.approx(255 * np.sqrt(0.0005 + 0.01), rel=0.1)


def test_output_inside_the_input_is_not_read_again(runner, tmp_path):
    """Re-running into a folder inside the input does not process its own outputs."""
    folder = tmp_path / "rr"
    write_image(folder / "a.png", random_image((20, 24), np.uint8, seed=1))
    for _ in range(2):
        result = invoke(runner, "run", folder, "-o", folder / "out", "-r", "-m", "median",
                        "--overwrite")
        assert result.exit_code == 0, result.stderr
        assert "1 written" in result.stderr
    assert not (folder / "out" / "out").exists()


def test_images_only_in_sub_folders_suggest_recursive(runner, tmp_path):
    write_image(tmp_path / "top" / "sub" / "a.png", random_image((20, 24), np.uint8, seed=1))
    result = invoke(runner, "run", tmp_path / "top", "-o", tmp_path / "out", "-m", "median")
    assert result.exit_code == 2 and "add -r (--recursive)" in result.stderr
    ok = invoke(runner, "run", tmp_path / "top", "-o", tmp_path / "out", "-m", "median", "-r")
    assert ok.exit_code == 0 and (tmp_path / "out" / "sub" / "a.png").exists()


def test_eval_recursive_pairs_by_relative_path(runner, tmp_path):
    """Same names in two sub-folders: -r pairs each with its own clean file."""
    clean_a = random_image((20, 24), np.uint8, seed=1)
    clean_b = random_image((20, 24), np.uint8, seed=2)
    for sub, image in (("x", clean_a), ("y", clean_b)):
        write_image(tmp_path / "clean" / sub / "img.png", image)
        write_image(tmp_path / "den" / sub / "img.png", image)
    result = invoke(runner, "eval", "--clean", tmp_path / "clean", "--denoised",
                    tmp_path / "den", "-r", "--format", "json")
    assert result.exit_code == 0, result.stderr
    found = {s["name"]: s for s in json.loads(result.stdout)["images"]}
    assert sorted(found) == ["x/img.png", "y/img.png"]
    assert all(s["psnr"] == float("inf") or s["psnr"] > 90 for s in found.values())
