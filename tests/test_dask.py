"""The Dask executor on a real LocalCluster (2 worker processes on loopback): outputs
byte-identical to the local executor's, for a folder and for one image in tiles."""
import sys

import numpy as np
import pytest

from denoise.cli import main
from denoise.io import write_image

from conftest import random_image


def invoke(runner, *args):
    return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_without_dask_the_error_says_how_to_install_it(runner, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    write_image(tmp_path / "a.png", random_image((20, 24), np.uint8))
    result = invoke(runner, "run", tmp_path / "a.png", "-o", tmp_path / "o.png", "-m",
                    "median", "--sigma", "20", "--executor", "dask")
    assert result.exit_code == 2 and "pip install 'denoise[dask]'" in result.stderr
    assert not (tmp_path / "o.png").exists()


def test_local_cluster_outputs_are_byte_identical(runner, tmp_path):
    pytest.importorskip("distributed")
    folder = tmp_path / "in"
    for k in range(5):
        write_image(folder / f"{k}.png", random_image((40, 36), np.uint8, seed=k))
    write_image(folder / "big.tif", random_image((150, 170), np.uint16, seed=9))
    write_image(folder / "rgb.tif", random_image((70, 90, 3), np.uint8, seed=8))
    common = ["-m", "nlm", "--sigma", "8%", "--tile", "64"]
    local = invoke(runner, "run", folder, "-o", tmp_path / "local", *common)
    dask = invoke(runner, "run", folder, "-o", tmp_path / "dask", *common, "--executor",
                  "dask", "--jobs", "2")
    assert local.exit_code == 0 and dask.exit_code == 0, dask.stderr
    names = sorted(p.name for p in (tmp_path / "local").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "dask").iterdir())
    assert len(names) == 7
    for name in names:
        assert (tmp_path / "local" / name).read_bytes() == \
            (tmp_path / "dask" / name).read_bytes(), name
