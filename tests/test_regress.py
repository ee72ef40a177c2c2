"""`denoise regress`: passes on the committed baseline, fails on a degraded method or a
method missing from the baseline, and --update rewrites the baseline."""
import dataclasses
import json
import shutil

import numpy as np
import pytest

from denoise.cli import main
from denoise.registry import REGISTRY, our_methods

from conftest import ROOT, SAMPLES

BASELINE = ROOT / "tests" / "regression" / "baseline.json"


def invoke(runner, *args):
    return runner.invoke(main, ["-q", "regress", "--samples", str(SAMPLES / "clean"),
                                *map(str, args)])


@pytest.fixture
def baseline(tmp_path):
    path = tmp_path / "baseline.json"
    shutil.copy(BASELINE, path)
    return path


def noisier(func, amount):
    """`func` followed by extra Gaussian noise of `amount` (data units)."""
    def degraded(image, **kwargs):
        out = func(image, **kwargs)
        rng = np.random.default_rng(0)
        return out + rng.normal(0, amount, out.shape)
    return degraded


def test_committed_baseline_passes(runner):
    result = invoke(runner, "--baseline", BASELINE)
    assert result.exit_code == 0, result.output
    for name in our_methods():
        assert name in result.stdout
    assert "REGRESSED" not in result.stdout and "NEW" not in result.stdout


def test_committed_baseline_has_every_method():
    data = json.loads(BASELINE.read_text())
    assert set(data["methods"]) == set(our_methods())


def test_degraded_method_fails(runner, baseline, monkeypatch):
    spec = REGISTRY["median"]
    monkeypatch.setitem(REGISTRY, "median",
                        dataclasses.replace(spec, func=noisier(spec.func, 0.01)))
    result = invoke(runner, "--baseline", baseline, "-m", "median")
    assert result.exit_code == 1
    assert "REGRESSED" in result.stdout and "regression" in result.stderr


def test_small_change_within_tolerance_passes(runner, baseline, monkeypatch):
    spec = REGISTRY["median"]
    monkeypatch.setitem(REGISTRY, "median",
                        dataclasses.replace(spec, func=noisier(spec.func, 1e-4)))
    result = invoke(runner, "--baseline", baseline, "-m", "median")
    assert result.exit_code == 0, result.output
    result = invoke(runner, "--baseline", baseline, "-m", "median", "--tolerance-db", "0",
                    "--tolerance-ssim", "0")
    assert result.exit_code == 1


def test_method_missing_from_baseline_fails(runner, baseline):
    data = json.loads(baseline.read_text())
    del data["methods"]["bilateral"]
    baseline.write_text(json.dumps(data))
    result = invoke(runner, "--baseline", baseline, "-m", "bilateral")
    assert result.exit_code == 1
    assert "NEW" in result.stdout


def test_update_rewrites_baseline(runner, baseline):
    data = json.loads(baseline.read_text())
    data["methods"]["median"]["25"]["camera.png"] = [99.0, 1.0]     # as if it was better
    baseline.write_text(json.dumps(data))
    # One method keeps the test short; the others' entries must come through as they were.
    assert invoke(runner, "--baseline", baseline, "-m", "median").exit_code == 1
    result = invoke(runner, "--baseline", baseline, "-m", "median", "--update")
    assert result.exit_code == 0, result.output
    assert json.loads(baseline.read_text())["methods"] == \
        json.loads(BASELINE.read_text())["methods"]
    assert invoke(runner, "--baseline", baseline, "-m", "median").exit_code == 0


def test_update_of_one_method_keeps_the_others(runner, baseline):
    data = json.loads(baseline.read_text())
    data["methods"]["bilateral"]["15"]["coins.png"] = [1.0, 0.0]
    data["methods"]["median"]["15"]["coins.png"] = [1.0, 0.0]
    baseline.write_text(json.dumps(data))
    assert invoke(runner, "--baseline", baseline, "-m", "median", "--update").exit_code == 0
    after = json.loads(baseline.read_text())["methods"]
    assert after["bilateral"]["15"]["coins.png"] == [1.0, 0.0]
    assert after["median"] == json.loads(BASELINE.read_text())["methods"]["median"]


def test_update_creates_a_missing_baseline(runner, tmp_path):
    path = tmp_path / "new" / "baseline.json"
    assert invoke(runner, "--baseline", path, "-m", "median").exit_code == 2
    assert invoke(runner, "--baseline", path, "-m", "median", "--update").exit_code == 0
    assert set(json.loads(path.read_text())["methods"]) == {"median"}


def test_corrupt_baseline_is_a_usage_error(runner, tmp_path):
    path = tmp_path / "b.json"
    path.write_text("{not json")
    result = invoke(runner, "--baseline", path)
    assert result.exit_code == 2 and "b.json" in result.stderr
