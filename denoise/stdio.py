"""``-`` as an input or output: one image read from stdin or written to stdout.

The image passes through a temporary folder, so the rest of the batch machinery
sees ordinary files. The format comes from ``--format``, else from the data's
leading bytes (stdin) or the input's extension (stdout).
"""
import contextlib
import shutil
import sys
import tempfile
from pathlib import Path

from .errors import InvalidParameterError
from .io import FORMATS, suffix_of_bytes

DASH = "-"


def format_suffix(fmt):
    """``"png"`` -> ``".png"``; None stays None."""
    if fmt is None:
        return None
    suffix = "." + fmt.lower().lstrip(".")
    if suffix not in FORMATS:
        raise InvalidParameterError(f"unknown format {fmt!r}; choose from: "
                                    f"{', '.join(s[1:] for s in sorted(FORMATS))}")
    return suffix


@contextlib.contextmanager
def std_streams(inputs, output, fmt=None, *, stdin=None, stdout=None):
    """Yield ``(inputs, output)`` with ``-`` replaced by temporary files: stdin's data
    saved first, and the output copied to stdout when the block ends without error."""
    inputs = [str(p) for p in inputs]
    if DASH not in inputs and str(output) != DASH:
        yield inputs, output
        return
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    with tempfile.TemporaryDirectory(prefix="denoise-stdio-") as folder:
        folder = Path(folder)
        if DASH in inputs:
            if len(inputs) > 1:
                raise InvalidParameterError("'-' (stdin) must be the only input")
            data = stdin.read()
            suffix = format_suffix(fmt) or suffix_of_bytes(data)
            if not data:
                raise InvalidParameterError("stdin: no data (expected one image)")
            if suffix is None:
                raise InvalidParameterError(
                    "stdin: not an image format this tool reads (give --format)")
            inputs = [str(folder / f"stdin{suffix}")]
            Path(inputs[0]).write_bytes(data)
        if str(output) != DASH:
            yield inputs, output
            return
        if len(inputs) != 1 or not Path(inputs[0]).is_file():
            raise InvalidParameterError("'-o -' (stdout) takes exactly one input file")
        target = folder / f"stdout{format_suffix(fmt) or Path(inputs[0]).suffix.lower()}"
        yield inputs, target
        if target.is_file():
            with open(target, "rb") as fh:
                shutil.copyfileobj(fh, stdout)
            stdout.flush()
