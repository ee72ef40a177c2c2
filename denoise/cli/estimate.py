"""`denoise estimate`: the noise of each image, as run would estimate it."""
import json

from pathlib import Path

import click

from . import options as opt


@click.command()
@opt.inputs_arg
@click.option("--estimator", type=click.Choice(["pca", "mad", "immerkaer"]), default="pca",
              show_default=True,
              help="Sigma estimator: pca (weak-texture patches, Liu et al. 2013), mad "
                   "(db2 wavelet detail, as scikit-image) or immerkaer (Laplacian).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format on stdout.")
@opt.data_range_opt
@opt.recursive_opt
@opt.verbosity
@click.pass_context
def estimate(ctx, inputs, estimator, fmt, data_range, recursive):
    """Estimate the noise of images: sigma per channel (image units), the
    noise-level function var = gain*x + offset (x on [0, 1]), the radius in pixels
    over which the noise is correlated (0: white; demosaiced camera noise: 1-2),
    the model `run --noise-model auto` would take and any reason to doubt it.

    \b
    Examples:
      denoise estimate photo.jpg
      denoise estimate scans/ -r --format json
      cat photo.png | denoise estimate -
    """
    from ..batch import estimate_files
    from ..stdio import std_streams

    with opt.usage_errors(), std_streams(inputs, None) as (paths, _):
        rows, report = estimate_files(paths, estimator, recursive=recursive,
                                      data_range=data_range)
        if inputs == (Path("-"),):
            rows = [(Path("-"), e) for _, e in rows]
    for _, message in report.failed:
        opt.error(message)
    click.echo(render(rows, fmt))
    opt.finish(ctx, report, what="estimated")


def render(rows, fmt):
    """``[(path, NoiseEstimate)]`` as a table or JSON."""
    if fmt == "json":
        return json.dumps({"images": [{"name": str(p), **e.as_dict()} for p, e in rows]},
                          indent=2)
    width = max([len("image")] + [len(str(p)) for p, _ in rows])
    lines = [f"{'image':<{width}}  {'sigma':<22}  {'gain':<24}  {'offset':<24}  "
             f"{'radius':<8}  model"]
    for path, e in rows:
        flag = "" if e.reliable else "  (unreliable: " + "; ".join(e.warnings) + ")"
        lines.append(f"{str(path):<{width}}  {_join(e.sigma):<22}  {_join(e.gain):<24}  "
                     f"{_join(e.offset):<24}  {_radius(e.correlation):<8}  {e.model}{flag}")
    return "\n".join(lines)


def _radius(values):
    return ", ".join(">3" if v is None else str(v) for v in values)


def _join(values):
    return ", ".join(f"{v:.3g}" for v in values)
