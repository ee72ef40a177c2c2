"""Click options shared by several commands, and their callbacks."""
from pathlib import Path

import click

from .registry import REGISTRY


def key_values(ctx, param, values):
    """Parse repeated KEY=VALUE into a dict (values kept as typed, not lower-cased)."""
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", ctx, param)
        out[key.strip()] = value.strip()
    return out


def number_list(ctx, param, value):
    """Parse "15,25,50" into [15.0, 25.0, 50.0]; every number must be > 0."""
    try:
        numbers = [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected numbers like 15,25,50, got {value!r}") from None
    if not numbers or any(not n > 0 for n in numbers):
        raise click.BadParameter(f"values must be > 0, got {value!r}")
    return numbers


def _positive(ctx, param, value):
    if value is not None and not value > 0:
        raise click.BadParameter(f"must be > 0, got {value}", ctx, param)
    return value


inputs_arg = click.argument(
    "inputs", nargs=-1, required=True,
    type=click.Path(exists=True, dir_okay=True, path_type=Path))

output_opt = click.option(
    "-o", "--output", required=True, type=click.Path(path_type=Path),
    help="Output file (for one input file) or folder (created if needed).")

method_opt = click.option(
    "-m", "--method", type=click.Choice(sorted(REGISTRY)), default="nlm",
    show_default=True, metavar="METHOD",
    help="Denoising method; `denoise methods` lists and describes them (ref:NAME "
         "runs another package's, for comparison).")

sigma_opt = click.option(
    "--sigma", type=float, default=None, callback=_positive,
    help="Noise standard deviation in the image's own units (0-255 for 8-bit, "
         "0-65535 for 16-bit, data units for float); sets the method's defaults.")

param_opt = click.option(
    "-p", "--param", "params", multiple=True, callback=key_values, metavar="KEY=VALUE",
    help="Method parameter, repeatable, e.g. -p radius=2 (see `denoise methods NAME`).")

recursive_opt = click.option(
    "-r", "--recursive", is_flag=True, help="Also process images in sub-folders.")

threads_opt = click.option(
    "--threads", type=click.IntRange(min=1), default=None,
    help="Threads for the filters (default: all cores).")

overwrite_opt = click.option(
    "--overwrite", is_flag=True, help="Replace existing output files.")

skip_existing_opt = click.option(
    "--skip-existing", is_flag=True,
    help="Leave existing output files alone and skip their inputs (resume a batch).")
