"""`denoise tune`: choose a method's parameters for one image."""
import json
import shlex
import sys
from pathlib import Path

import click

from . import options as opt


def grid_values(ctx, param, values):
    """Parse repeated KEY=V1,V2,... into ``{key: [text, ...]}``."""
    out = {}
    for key, text in opt.key_values(ctx, param, values).items():
        items = [v.strip() for v in text.split(",")]
        if not all(items):
            raise click.BadParameter(f"expected KEY=V1,V2,..., got {key}={text!r}", ctx, param)
        out[key] = items
    return out


@click.command()
@click.argument("input", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-m", "--method", type=opt.LiveChoice(opt.method_names), required=True,
              metavar="METHOD", help="The method to tune (`denoise methods` lists them).")
@click.option("--clean", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A clean reference of the same shape: rank by PSNR on the whole image "
                   "instead of the self-supervised loss.")
@click.option("--grid", multiple=True, callback=grid_values, metavar="KEY=V1,V2,...",
              help="Values to try for a parameter, repeatable; the key sigma takes "
                   "--sigma values, the key strength `run --strength` values. Default: "
                   "strength=0.5,0.7,1,1.4,2 (the sigma run would give the method, times).")
@click.option("--max-seconds", type=click.FloatRange(min=0), default=None,
              help="Start no candidate after this many seconds (the first always runs); "
                   "the best so far is reported.")
@opt.auto_sigma_opt
@opt.data_range_opt
@click.option("--crop", type=click.IntRange(min=8), default=512, show_default=True,
              help="Without --clean, score on a centre crop of at most N x N pixels.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead.")
@opt.verbosity
@click.pass_context
def tune(ctx, input, method, clean, grid, max_seconds, sigma, data_range, crop, as_json):
    """Find the best parameters of METHOD for the image INPUT.

    Without --clean, candidates are ranked by the J-invariant (Noise2Self) loss on
    a centre crop: one grid of pixels is hidden from the method and predicted from
    the others. For noise independent from pixel to pixel this ranks them as the
    true error of the method with those pixels hidden would; the plain method's
    best can differ (most on textured images: benchmarks/tune_accuracy.py). The
    best is printed as a `denoise run` command line.

    \b
    Examples:
      denoise tune photo.png -m nlm
      denoise tune photo.png -m median --grid radius=1,2,3
      denoise tune noisy.png -m bilateral --clean clean.png --grid sigma=15,25,35
    """
    from tqdm import tqdm

    from ..auto import NoiseRequest
    from ..tune import grid_size, tune as search

    image, reference = _read(ctx, input, clean)
    bar = tqdm(total=grid_size(grid), file=sys.stderr, unit="candidate", dynamic_ncols=True,
               disable=True if opt.quiet(ctx) else None)
    with bar, opt.compile_notice(ctx, method), opt.usage_errors():
        result = search(image, method, grid, clean=reference, request=NoiseRequest(*sigma, data_range=data_range),
                        crop=crop, max_seconds=max_seconds, progress=bar.update)
    if result.stopped_early:
        opt.note(ctx, f"stopped early (--max-seconds {max_seconds:g}): tried {result.tried} "
                      f"of {result.candidates} candidates; this is the best so far")
    command = _command(result, input)
    click.echo(_json(result, command) if as_json else _table(result) + "\n\n" + command)


def _read(ctx, path, clean):
    """(image, clean reference or None); a bad file: one error line, exit 1."""
    from ..errors import DenoiseError
    from ..io import read_image
    from ..tune import check_reference

    try:
        image = read_image(path)
        reference = None if clean is None else read_image(clean)
        if reference is not None:
            check_reference(image, reference, names=(path, clean))
    except DenoiseError as exc:
        opt.error(str(exc))
        ctx.exit(1)
    return image, reference


def _table(result):
    """The ranking, best first: rank, score, parameters."""
    from ..registry import format_value

    head, shape = ("PSNR (dB)", ".2f") if result.kind == "psnr" else ("J-inv. MSE", ".5g")
    rows = [f"{'#':>3}  {head:>10}  parameters"]
    for rank, trial in enumerate(result.ranking, 1):
        params = " ".join(f"{k}={format_value(v)}" for k, v in trial.params.items())
        rows.append(f"{rank:>3}  {trial.score:>10{shape}}  {params or '(defaults)'}")
    return "\n".join(rows)


def _command(result, path):
    """``denoise run`` with the best parameters: -m, -p, --sigma (the grid's, or the
    one tune was given) and --strength, writing INPUT's name with -denoised."""
    from ..registry import format_value

    params, request = dict(result.best.params), result.request
    strength = params.pop("strength", None)
    sigma = params.pop("sigma", None) or (
        f"{100 * request.relative:.6g}%" if request.relative is not None else
        None if request.sigma is None else repr(float(request.sigma)))
    args = ["denoise", "run", str(path), "-o",
            str(path.with_name(f"{path.stem}-denoised{path.suffix}")), "-m", result.method]
    for key, value in params.items():
        text = repr(value) if type(value) is float else format_value(value)
        args += ["-p", f"{key}={text}"]
    args += ["--sigma", sigma] if sigma else []
    args += ["--data-range", f"{request.data_range:g}"] if request.data_range else []
    return shlex.join(args + (["--strength", f"{strength:g}"] if strength else []))


def _json(result, command):
    """The result as a JSON object: ranking, best, command and how it was found."""
    return json.dumps({
        "method": result.method, "kind": result.kind,
        "ranking": [{"params": t.params, "score": t.score} for t in result.ranking],
        "best": {"params": result.best.params, "score": result.best.score},
        "command": command, "stopped_early": result.stopped_early, "tried": result.tried,
        "candidates": result.candidates, "correlation_radius": result.radius,
        "stride": result.stride, "notes": list(result.notes)}, indent=2)


__all__ = ["tune"]
