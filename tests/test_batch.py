"""Batches: resume, failures named at the end, kills, no-replace writes, globs, include
and exclude, stdin and stdout, the pixel limit, worker processes."""
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import zlib

import numpy as np
import pytest

from denoise.batch import Job, execute, jobs_for
from denoise.cli import main
from denoise.errors import InvalidParameterError, OutputExistsError
from denoise.io import (TEMP_PREFIX, commit_atomic, read_image, read_info, remove_stale_temps,
                        temp_path, write_image)

from conftest import ROOT, random_image

ARGS = ("-m", "median", "--sigma", "20", "--threads", "1")


def invoke(runner, *args, **kwargs):
    return runner.invoke(main, [str(a) for a in args], catch_exceptions=False, **kwargs)


@pytest.fixture
def folder(tmp_path):
    """Five small gray PNGs, two of them in a sub-folder."""
    root = tmp_path / "in"
    for k, name in enumerate(["a.png", "b.png", "c.png", "sub/d.png", "sub/e.png"]):
        write_image(root / name, random_image((24, 20), np.uint8, seed=k))
    return root


def age(path, seconds):
    """Move `path`'s modification time `seconds` into the past."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - int(seconds * 1e9)))


def test_resume_skips_finished_files_and_redoes_stale_ones(runner, folder, tmp_path):
    out = tmp_path / "out"
    assert invoke(runner, "run", folder, "-o", out, "-r", *ARGS).exit_code == 0
    stamps = {p.name: p.stat().st_mtime_ns for p in out.rglob("*.png")}
    (out / "b.png").write_bytes(b"stale")           # an older output: redone
    age(out / "b.png", 100)
    result = invoke(runner, "run", folder, "-o", out, "-r", *ARGS)
    assert result.exit_code == 0, result.stderr
    assert "1 written (1 redone: input newer than output), 4 skipped (up to date)" \
        in result.stderr
    assert read_image(out / "b.png").shape == (24, 20)
    for name in ("a.png", "c.png", "d.png", "e.png"):
        path = out / name if name < "d" else out / "sub" / name
        assert path.stat().st_mtime_ns == stamps[name]
    result = invoke(runner, "run", folder, "-o", out, "-r", *ARGS, "--overwrite")
    assert "5 written" in result.stderr and "skipped" not in result.stderr


def test_bad_files_are_named_with_their_reason_and_the_others_written(runner, folder,
                                                                       tmp_path):
    good = read_image(folder / "a.png")
    (folder / "corrupt.png").write_bytes(os.urandom(300))
    png = (folder / "a.png").read_bytes()
    (folder / "truncated.png").write_bytes(png[:len(png) // 2])
    (folder / "text.jpg").write_text("not an image at all\n")
    (folder / "notes.txt").write_text("not read: no image extension\n")
    unreadable = []
    if os.geteuid() != 0:                             # root reads any file
        write_image(folder / "locked.png", good)
        (folder / "locked.png").chmod(0)
        unreadable = ["locked.png"]
    out = tmp_path / "out"
    result = invoke(runner, "run", folder, "-o", out, *ARGS)
    assert result.exit_code == 1
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "c.png"]
    summary = result.stderr[result.stderr.index("3 written"):]
    for name in ["corrupt.png", "truncated.png", "text.jpg"] + unreadable:
        assert f"failed: {folder / name}: cannot read image" in summary, name
    assert f"{3 + len(unreadable)} failed" in summary
    assert "left out 1 file(s) that are not images by their extension (.txt x1)" \
        in result.stderr


def test_a_killed_batch_leaves_nothing_a_rerun_does_not_clean_up(folder, tmp_path):
    """SIGKILL in the middle of a batch: what is in OUT is complete images and our
    temporary files; the re-run removes those and completes the rest."""
    for k in range(16):
        write_image(folder / f"z{k:02d}.png", random_image((256, 256), np.uint8, seed=k))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "denoise", "run", str(folder), "-o", str(out), "-m",
               "nlm", "--sigma", "20", "--threads", "1", "-q"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "denoise", "warmup", "nlm"], env=env, check=True,
                   capture_output=True)
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(out.glob("z*.png"))) < 3:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    left = sorted(p.name for p in out.iterdir()) if out.exists() else []
    finished = [n for n in left if not n.startswith(TEMP_PREFIX)]
    assert 3 <= len(finished) < 19, left
    for name in finished:                     # each one complete
        assert read_image(out / name).shape == ((256, 256) if name[0] == "z" else (24, 20))
    # a temporary file of the killed process, as a kill in the middle of a write leaves
    host = socket.gethostname().replace(".", "-")
    stale = out / f"{TEMP_PREFIX}{host}.{process.pid}.abc.z15.png"
    stale.write_bytes(b"partial")
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert not [p for p in out.iterdir() if p.name.startswith(TEMP_PREFIX)]
    assert len(list(out.glob("*.png"))) == 19
    for path in out.glob("z*.png"):
        assert read_image(path).shape == (256, 256)


def test_sigterm_stops_worker_processes_at_once_and_leaves_no_partial_file(folder,
                                                                         tmp_path):
    for k in range(40):
        write_image(folder / f"z{k:02d}.png", random_image((256, 256), np.uint8, seed=k))
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "denoise", "run", str(folder), "-o", str(out), "-m", "nlm",
         "--sigma", "20", "--jobs", "2", "-q"],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(out.glob("z*.png"))) < 3:
        time.sleep(0.02)
    process.terminate()
    assert process.wait(timeout=20) == 128 + signal.SIGTERM
    time.sleep(0.5)                          # the workers are gone: nothing changes now
    names = sorted(p.name for p in out.iterdir())
    assert len(names) < 43 and not [n for n in names if n.startswith(".")], names
    for name in names:
        read_image(out / name)
    assert sorted(p.name for p in out.iterdir()) == names


def test_stale_temporary_files_are_removed_and_live_ones_kept(tmp_path):
    live = temp_path(tmp_path / "a.png")                      # this process: still writing
    host = live.name.split(".")[2]
    dead = tmp_path / f"{TEMP_PREFIX}{host}.999999999.xyz.b.png"
    old_foreign = tmp_path / f"{TEMP_PREFIX}elsewhere.12.xyz.c.png"
    new_foreign = tmp_path / f"{TEMP_PREFIX}elsewhere.13.xyz.d.png"
    for path in (dead, old_foreign, new_foreign):
        path.write_bytes(b"x")
    age(old_foreign, 2 * 24 * 3600)
    removed = remove_stale_temps(tmp_path)
    assert sorted(removed) == sorted([dead, old_foreign])
    assert live.exists() and new_foreign.exists()


def test_a_file_written_meanwhile_by_another_process_is_never_replaced(tmp_path):
    path = tmp_path / "out.png"

    def write(tmp):
        write_image(tmp, np.zeros((4, 4), np.uint8), overwrite=True)
        path.write_bytes(b"the other process's output")

    with pytest.raises(OutputExistsError):
        commit_atomic(path, write)
    assert path.read_bytes() == b"the other process's output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_a_concurrent_writer_is_reported_as_skipped(tmp_path):
    source = tmp_path / "a.png"
    write_image(source, np.zeros((4, 4), np.uint8))
    target = tmp_path / "out" / "a.png"

    def step(job, replace, tiles=None):
        write_image(target, np.ones((4, 4), np.uint8))   # the other process
        write_image(target, np.zeros((4, 4), np.uint8), overwrite=replace)

    outcome = execute(Job(source, target), step)
    assert outcome.status == "skipped" and "another process" in outcome.message
    assert read_image(target).max() == 1


def test_quoted_globs_and_include_exclude(runner, folder, tmp_path):
    result = invoke(runner, "run", f"{folder}/**/*.png", "-o", tmp_path / "g", *ARGS)
    assert result.exit_code == 0, result.stderr
    assert sorted(p.relative_to(tmp_path / "g").as_posix()
                  for p in (tmp_path / "g").rglob("*.png")) == \
        ["a.png", "b.png", "c.png", "sub/d.png", "sub/e.png"]
    result = invoke(runner, "run", folder, "-o", tmp_path / "i", "-r", *ARGS,
                    "--include", "sub/*", "--include", "a.png", "--exclude", "*e.png")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.relative_to(tmp_path / "i").as_posix()
                  for p in (tmp_path / "i").rglob("*.png")) == ["a.png", "sub/d.png"]
    result = invoke(runner, "run", f"{folder}/*.tif", "-o", tmp_path / "n", *ARGS)
    assert result.exit_code == 2 and "no image files match" in result.stderr
    result = invoke(runner, "run", folder, "-o", tmp_path / "x", *ARGS, "--include", "*.tif")
    assert result.exit_code == 2 and "--include" in result.stderr


def test_relative_tree_under_a_glob_root(folder, tmp_path):
    jobs = jobs_for([f"{folder}/s*/*.png"], tmp_path / "o")
    assert [j.target.relative_to(tmp_path / "o").as_posix() for j in jobs] == \
        ["sub/d.png", "sub/e.png"]
    with pytest.raises(InvalidParameterError, match="no such file"):
        jobs_for([folder / "missing.png"], tmp_path / "o")


@pytest.mark.parametrize("fmt", [None, "png"])
def test_stdin_to_stdout(runner, folder, tmp_path, fmt):
    data = (folder / "a.png").read_bytes()
    extra = ["--format", fmt] if fmt else []
    result = invoke(runner, "run", "-", "-o", "-", *ARGS, *extra, input=data)
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes.startswith(b"\x89PNG")
    (tmp_path / "piped.png").write_bytes(result.stdout_bytes)
    invoke(runner, "run", folder / "a.png", "-o", tmp_path / "file.png", *ARGS)
    np.testing.assert_array_equal(read_image(tmp_path / "piped.png"),
                                  read_image(tmp_path / "file.png"))


def test_stdin_to_a_file_and_a_file_to_stdout_as_tiff(runner, folder, tmp_path):
    data = (folder / "a.png").read_bytes()
    result = invoke(runner, "run", "-", "-o", tmp_path / "x.png", *ARGS, input=data)
    assert result.exit_code == 0 and read_image(tmp_path / "x.png").shape == (24, 20)
    result = invoke(runner, "run", folder / "a.png", "-o", "-", *ARGS, "--format", "tif")
    assert result.exit_code == 0 and result.stdout_bytes[:4] in (b"II*\x00", b"MM\x00*")
    result = invoke(runner, "run", "-", "-o", "-", *ARGS, input=b"hello")
    assert result.exit_code == 2 and "stdin" in result.stderr and not result.stdout_bytes


def test_the_pixel_limit_refuses_before_decoding(runner, folder, tmp_path):
    result = invoke(runner, "run", folder / "a.png", "-o", tmp_path / "o.png", *ARGS,
                    "--max-pixels", "400")
    assert result.exit_code == 1 and "beyond the limit of 400" in result.stderr
    assert not (tmp_path / "o.png").exists()
    # a PNG whose header declares 100000 x 100000 pixels: refused by its header
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data))

    (tmp_path / "bomb.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0,
                                                          0, 0)) +
        chunk(b"IDAT", zlib.compress(bytes(1000))) + chunk(b"IEND", b""))
    with pytest.raises(Exception, match="10,000,000,000 pixels, beyond the limit"):
        read_info(tmp_path / "bomb.png")


def test_jobs_give_the_same_outputs(runner, folder, tmp_path):
    one = invoke(runner, "run", folder, "-o", tmp_path / "one", "-r", "-m", "nlm",
                 "--sigma", "20", "--jobs", "1")
    two = invoke(runner, "run", folder, "-o", tmp_path / "two", "-r", "-m", "nlm",
                 "--sigma", "20", "--jobs", "2")
    assert one.exit_code == 0 and two.exit_code == 0, two.stderr
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*.png"))
    assert len(files) == 5
    for name in files:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_redirected_progress_is_plain_lines(runner, folder, tmp_path):
    result = invoke(runner, "run", folder, "-o", tmp_path / "o", *ARGS)
    assert "\r" not in result.stderr
    assert f"[3/3] {folder / 'c.png'} -> {tmp_path / 'o' / 'c.png'}: written" in result.stderr


def test_more_threads_than_cores_is_lowered_with_a_note(runner, folder, tmp_path):
    import numba

    cores = numba.config.NUMBA_DEFAULT_NUM_THREADS
    result = invoke(runner, "run", folder / "a.png", "-o", tmp_path / "o.png", "-m", "median",
                    "--sigma", "20", "--threads", cores + 1)
    assert result.exit_code == 0, result.stderr
    assert f"--threads {cores + 1} is more than the {cores} cores" in result.stderr


def test_an_unknown_output_extension_is_an_error_not_a_folder(runner, folder, tmp_path):
    for name in ("astro.heic", "a.gif", "noext"):
        result = invoke(runner, "run", folder / "a.png", "-o", tmp_path / name, *ARGS)
        assert result.exit_code == 2, name
        assert "no image type this tool writes" in result.stderr and ".png" in result.stderr
        assert not (tmp_path / name).exists()
    result = invoke(runner, "run", folder / "a.png", "-o", f"{tmp_path / 'dir'}/", *ARGS)
    assert result.exit_code == 0 and (tmp_path / "dir" / "a.png").is_file()
    (tmp_path / "existing").mkdir()
    assert invoke(runner, "run", folder / "a.png", "-o", tmp_path / "existing",
                  *ARGS).exit_code == 0
    assert (tmp_path / "existing" / "a.png").is_file()
