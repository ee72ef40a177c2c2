"""Nothing lost under concurrency and kills, with real processes: two runs writing
into one folder never replace each other's files, and a batch killed again and
again, then re-run, ends with exactly the outputs of an uninterrupted run."""
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np

from denoise import median
from denoise.io import TEMP_PREFIX, read_image, write_image

from conftest import ROOT, random_image

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
LINE = re.compile(r"-> (?P<target>\S+): (?P<status>written|skipped)")


def command(folder, out, radius, *extra):
    return [sys.executable, "-m", "denoise", "run", str(folder), "-o", str(out), "-m",
            "median", "-p", f"radius={radius}", "--sigma", "20", "--threads", "1", *extra]


def images(folder, count, size):
    for k in range(count):
        write_image(folder / f"i{k:02d}.png", random_image((size, size), np.uint8, seed=k))


def test_two_runs_into_one_folder_never_replace_each_others_files(tmp_path):
    folder, out = tmp_path / "in", tmp_path / "out"
    images(folder, 24, 192)
    subprocess.run([sys.executable, "-m", "denoise", "warmup", "median"], env=ENV,
                   check=True, capture_output=True)
    runs = [subprocess.Popen(command(folder, out, radius), env=ENV, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for radius in (1, 2)]
    logs = [run.communicate(timeout=300)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], logs
    written = {}
    for radius, log in zip((1, 2), logs):
        for match in LINE.finditer(log):
            if match.group("status") == "written":
                name = os.path.basename(match.group("target"))
                assert name not in written, f"{name} written by both runs"
                written[name] = radius
    assert sorted(written) == sorted(p.name for p in folder.glob("*.png"))
    for name, radius in written.items():        # each file is its writer's result
        expected = median(read_image(folder / name), radius=radius)
        np.testing.assert_array_equal(read_image(out / name), expected, err_msg=name)
    assert not [p for p in out.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_repeated_kills_then_a_rerun_give_the_uninterrupted_outputs(tmp_path):
    folder, out, reference = tmp_path / "in", tmp_path / "out", tmp_path / "ref"
    images(folder, 40, 384)
    subprocess.run(command(folder, reference, 2, "-q"), env=ENV, check=True,
                   capture_output=True)
    for _ in range(3):                          # killed three times, each mid-batch
        done = len(list(out.glob("i*.png"))) if out.exists() else 0
        process = subprocess.Popen(command(folder, out, 2, "-q"), env=ENV,
                                   stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while time.time() < deadline and process.poll() is None and \
                len(list(out.glob("i*.png"))) < done + 3:
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait()
        for path in out.glob("i*.png"):         # only complete outputs are visible
            assert path.read_bytes() == (reference / path.name).read_bytes(), path.name
    assert len(list(out.glob("i*.png"))) < 40   # the kills fell mid-batch
    result = subprocess.run(command(folder, out, 2, "-q"), env=ENV, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in reference.iterdir())
    for path in reference.iterdir():
        assert (out / path.name).read_bytes() == path.read_bytes(), path.name
