"""Bad values and interrupts end in one clear line naming the cause, never a traceback."""
import numba
import numpy as np
import pytest

from denoise import ImageInfo
from denoise.executors import cores
from denoise.io import write_image
from denoise.registry import REGISTRY

from conftest import random_image
from test_cli import invoke


@pytest.fixture
def image(tmp_path):
    """A tiny 8-bit gray PNG, alone in its folder (a data set for bench and regress)."""
    path = tmp_path / "in" / "a.png"
    write_image(path, random_image((16, 16), np.uint8, seed=4))
    return path


@pytest.fixture
def kept_threads():
    """Restore the kernels' thread count a command changed."""
    before = numba.get_num_threads()
    yield
    numba.set_num_threads(before)


def refused(result, *texts):
    """The command was refused as a usage error: exit 2, `texts` on one stderr line."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, result.stderr
    for text in texts:
        assert text in lines[0], lines[0]


# --- --threads above the cores: lowered with a note, in every command that has it -----

@pytest.mark.parametrize("command", ["run", "bench", "regress"])
def test_threads_above_the_cores_are_lowered_with_a_note(runner, image, tmp_path, command,
                                                         kept_threads):
    args = {"run": ["run", image, "-o", tmp_path / "out.png", "-m", "median"],
            "bench": ["bench", "--dataset", image.parent, "-m", "median", "--against", "none"],
            "regress": ["regress", "-m", "median", "--samples", image.parent,
                        "--baseline", tmp_path / "baseline.json", "--update"]}[command]
    threads = cores() + 1
    result = invoke(runner, *args, "--threads", threads)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert f"--threads {threads} is more than the {cores()} cores: using {cores()}" \
        in result.stderr


# --- non-finite and oversized numbers -------------------------------------------------

def _float_params(name):
    return [p.name for p in REGISTRY[name].params if p.type is float]


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_non_finite_float_parameters_are_refused_by_name(runner, image, tmp_path, name):
    for key in _float_params(name):
        for value in ("inf", "nan", "-inf"):
            result = invoke(runner, "run", image, "-o", tmp_path / "out.png", "-m", name,
                            "--sigma", "10", "-p", f"{key}={value}")
            refused(result, "'-p'", f"{key} must be a finite number, got {value}")


def test_every_method_has_its_float_parameters_checked():
    assert any(_float_params(name) for name in REGISTRY if REGISTRY[name].is_reference)
    assert {"h", "sigma_spatial", "sigma_range"} <= {
        key for name in REGISTRY for key in _float_params(name)}


@pytest.mark.parametrize("value", ["inf", "nan", "-inf"])
@pytest.mark.parametrize("command", ["run", "tune"])
def test_non_finite_sigma_is_refused(runner, image, tmp_path, command, value):
    args = ["run", image, "-o", tmp_path / "out.png"] if command == "run" else ["tune", image]
    result = invoke(runner, *args, "-m", "median", "--sigma", value)
    refused(result, "'--sigma'", repr(value))
    assert "-p" not in result.stderr


@pytest.mark.parametrize("args", [["methods", "nlm", "--sigma", "inf"],
                                  ["methods", "nlm", "--sigma", "nan"]])
def test_non_finite_sigma_of_methods_is_refused(runner, args):
    refused(invoke(runner, *args), "'--sigma'", "must be a finite number > 0")


@pytest.mark.parametrize("value", ["inf", "nan"])
def test_non_finite_bench_levels_are_refused(runner, image, value):
    result = invoke(runner, "bench", "--dataset", image.parent, "-m", "median",
                    "--against", "none", "--sigma", f"15,{value}")
    refused(result, "'--sigma'", "finite numbers > 0")


@pytest.mark.parametrize("method", ["median", "nlm", "bilateral"])
@pytest.mark.parametrize("command", ["run", "tune"])
def test_huge_sigma_is_refused_with_its_limit(runner, image, tmp_path, command, method):
    args = ["run", image, "-o", tmp_path / "out.png"] if command == "run" else ["tune", image]
    result = invoke(runner, *args, "-m", method, "--sigma", "1e308")
    refused(result, "sigma must be <= 2.55e+08", "data range 255", "got 1e+308")
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("name, param, texts", [
    ("bilateral", "sigma_spatial=1e30", ["sigma_spatial must be <= 25", "radius", "1e+30"]),
    ("ref:skimage-bilateral", "sigma_spatial=1e30",
     ["sigma_spatial must be <= 33.33", "radius", "1e+30"]),
    ("attention", "h=1e308", ["h must be <= 2.55e+08", "1e+308"])])
def test_huge_parameters_are_refused_with_the_limit_they_break(runner, image, tmp_path,
                                                                name, param, texts):
    if name not in REGISTRY:
        pytest.skip(f"{name} is not installed")
    result = invoke(runner, "run", image, "-o", tmp_path / "out.png", "-m", name,
                    "--sigma", "10", "-p", param)
    refused(result, *texts)
    assert "radius must be an integer" not in result.stderr


def test_huge_lark_h_gives_the_largest_radius():
    plan = REGISTRY["lark"].plan(ImageInfo.typical("uint8", 1), 10.0, h=1e308)
    assert plan.params["radius"] == 10


# --- interrupts -----------------------------------------------------------------------

def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("where", ["denoise.auto.parse_sigma",        # parsing --sigma
                                   "denoise.registry.coerce_params",  # before planning
                                   "denoise.batch.plan_files"])       # planning
def test_an_interrupt_at_start_up_aborts_without_a_traceback(runner, image, tmp_path,
                                                              monkeypatch, where):
    monkeypatch.setattr(where, _interrupt)
    result = invoke(runner, "run", image, "-o", tmp_path / "out.png", "-m", "median",
                    "--sigma", "10")
    assert result.exit_code == 130, result.output
    assert "Traceback" not in result.output
    assert [line for line in result.stderr.splitlines() if line] == ["Aborted!"]
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("delay", [0.15, 0.4, 0.8])
def test_an_interrupt_while_the_package_imports_aborts_without_a_traceback(tmp_path, delay):
    """The command's entry (denoise_cli) catches an interrupt before the package has
    imported (the first second or so); later ones the app itself turns into the same.
    The run (nlm on 1.4 Mpx) lasts well beyond the last delay, so every interrupt
    lands in the imports or the work, never in the interpreter's own exit."""
    import signal
    import subprocess
    import sys
    import time

    import imageio.v3 as iio

    iio.imwrite(tmp_path / "in.png", np.random.default_rng(2).integers(
        0, 256, (1200, 1200), dtype=np.uint8))
    command = [sys.executable, "-c", "import sys, denoise_cli; sys.exit(denoise_cli.main())",
               "run", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.png"), "-m", "nlm",
               "--sigma", "20"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert "Traceback" not in err, err
    assert proc.returncode == 130, (proc.returncode, err)
    assert err.strip().splitlines()[-1] == "Aborted!", err
    assert not (tmp_path / "out.png").exists()


def test_threads_above_a_lowered_numba_pool_are_lowered_with_a_note(tmp_path):
    """NUMBA_NUM_THREADS=1 on a machine of more cores: --threads 2 was checked against
    the cores only, and Numba's set_num_threads then raised with a traceback."""
    import os
    import subprocess
    import sys

    import imageio.v3 as iio

    iio.imwrite(tmp_path / "in.png", np.random.default_rng(1).integers(0, 256, (16, 16),
                                                                        dtype=np.uint8))
    env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "denoise", "run", str(tmp_path / "in.png"),
                           "-o", str(tmp_path / "out.png"), "-m", "median", "--sigma", "10",
                           "--threads", "2"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "--threads 2 is more than the 1 cores" in proc.stderr
    assert (tmp_path / "out.png").exists()


def test_a_tiny_spatial_sigma_is_the_identity_without_warnings():
    """sigma_spatial = 1e-300: every weight but the centre's is 0 (no overflow warning),
    so the output is the input (up to the working scale's rounding)."""
    import warnings

    from denoise import bilateral

    image = np.random.default_rng(3).random((9, 8)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = bilateral(image, sigma_range=0.1, sigma_spatial=1e-300, radius=2)
    np.testing.assert_allclose(out, image, rtol=1e-6, atol=0)


@pytest.mark.parametrize("kind", ["gaussian", "poisson", "speckle", "poisson-gaussian",
                                  "camera", "mixed"])
def test_a_noise_level_beyond_the_float_range_is_a_usage_error(runner, tmp_path, kind):
    """bench --sigma 1e308 failed at the warm-up crop (exit 1, NaN noisy values)."""
    import imageio.v3 as iio

    (tmp_path / "set").mkdir()
    iio.imwrite(tmp_path / "set" / "a.png", np.full((20, 20), 100, np.uint8))
    result = invoke(runner, "bench", "--dataset", tmp_path / "set", "--noise", kind,
                    "--sigma", "1e308", "-m", "median", "--against", "none")
    assert result.exit_code == 2, result.output
    assert "level must be <= 1e+12" in result.stderr and "Traceback" not in result.output
