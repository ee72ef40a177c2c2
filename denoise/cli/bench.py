"""`denoise bench`: methods side by side on a clean data set with seeded noise."""
from pathlib import Path

import click

from . import options as opt


@click.command()
@click.option("--dataset", required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of clean images (e.g. ../shared/datasets/Set12).")
@click.option("--sigma", "sigmas", default="25", show_default=True, callback=opt.number_list,
              help="Comma-separated noise levels of --noise, e.g. 15,25,50 (sigma in the "
                   "images' units); with --noise salt-pepper, impulse densities, e.g. 0.1,0.3.")
@click.option("--noise", type=opt.noise_kind, default="gaussian", show_default=True,
              help="Noise model (`denoise noise --help` lists them); methods get the sigma "
                   "it implies; where it implies none (poisson-gaussian, camera, poisson, "
                   "speckle) methods that need one get it estimated, as `run` does "
                   "(salt-pepper: refused). Camera noise is scored against its own truth.")
@click.option("--density", type=float, default=None,
              help="Impulse density of --noise mixed (fraction of pixels; default 0.1).")
@click.option("--offset", type=float, default=None,
              help="Offset b of --noise poisson-gaussian (variance a*x + b on [0, 1]; the "
                   "--sigma values are the gains a; default 0.0004).")
@click.option("-m", "--method", "methods", multiple=True, type=opt.LiveChoice(opt.method_names),
              metavar="METHOD", help="Method to run, repeatable (default: all of ours; "
                                     "`denoise methods` lists them).")
@click.option("-p", "--param", "params", multiple=True, callback=opt.key_values,
              metavar="[METHOD.]KEY=VALUE",
              help="Method parameter, repeatable, in the images' units as with `denoise "
                   "run`: -p h=12 sets h of every method chosen with -m (default: all of "
                   "ours) that has it, an error if none has; -p nlm.h=12 of one method of "
                   "the run (references too: -p ref:skimage-nlm.h=15). Given values replace "
                   "what the sigma rules choose; the table and report show them.")
@click.option("--against", "against", multiple=True, metavar="REF|all|none",
              help="Reference to compare with, repeatable, e.g. ref:bm3d (the ref: prefix "
                   "may be left out). Default: the references of the same family as the "
                   "methods run (nlm: ref:skimage-nlm and ref:opencv-nlm; median: "
                   "ref:scipy-median and ref:opencv-median...); BM3D, TV and wavelet, which "
                   "have no method of ours beside them, only when named. 'all': every "
                   "installed reference; 'none': none.")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Use only the first N images (sorted order).")
@click.option("--limit-method", "limit_method", multiple=True, callback=opt.key_values,
              metavar="METHOD=N",
              help="Run METHOD on its first N images only (slow references), repeatable; "
                   "tables then add means over the images every method ran.")
@opt.threads_opt
@click.option("--report", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write index.html, CSV/JSON and plots into this folder.")
@click.option("--montage", "montage_image", default=None, metavar="NAME",
              help="Image shown in the report, whole and in zoomed crops of every method "
                   "(default: the first).")
@opt.overwrite_opt
@opt.verbosity
@click.pass_context
def bench(ctx, dataset, sigmas, noise, density, offset, methods, params, against, limit,
          limit_method, threads, report, montage_image, overwrite):
    """Benchmark methods side by side on a clean data set with seeded noise.

    Noise: from the noise registry (default clean + N(0, sigma^2)), seed = the
    image's index in sorted order, not clipped; outputs are clipped to the data
    range, then scored (PSNR, SSIM). Every method sees the same noisy images;
    they run image by image in turn. Prints a table: mean PSNR/SSIM, median
    seconds per image, Mpx/s, peak memory and the first call's time
    (compilation) for each method and level, ranked by PSNR at each level
    (* best of ours, + best reference). By default the references run are
    those of the families of the methods run (see --against). --threads
    applies to our kernels and to OpenCV and BM3D alike. --report adds plots
    and zoomed crops of every method's result in an HTML page.

    \b
    Examples:
      denoise bench --dataset ../shared/datasets/Set12 --sigma 15,25,50 --report report/
      denoise bench --dataset data/ -m bilateral --against ref:opencv-bilateral --threads 1
      denoise bench --dataset data/ -m nlm -m bilateral -p nlm.h=10 --limit 4
      denoise bench --dataset data/ --noise salt-pepper --sigma 0.1,0.3 -m adaptive-median
    """
    from ..bench import parse_limits, resolve_references, run_bench
    from ..bench_params import resolve_params
    from ..errors import DenoiseError, InvalidParameterError
    from ..registry import our_methods
    from ..report import check_report_folder, header, table, write_report

    with opt.usage_errors():
        chosen = list(methods) or our_methods()
        names = chosen + [r for r in resolve_references(against, chosen) if r not in chosen]
        given = resolve_params(params, chosen, names)
        limits = parse_limits(limit_method)
        if report is not None:
            check_report_folder(report, overwrite)
    try:
        result = run_bench(dataset, sigmas, names, limit=limit, method_limits=limits,
                           threads=opt.threads(ctx, threads), montage_image=montage_image,
                           progress=not opt.quiet(ctx), noise=noise,
                           noise_options={"density": density, "offset": offset}, params=given)
    except InvalidParameterError as exc:
        raise click.UsageError(str(exc)) from None
    except DenoiseError as exc:                 # a file that cannot be read, a method failing
        opt.error(str(exc))
        ctx.exit(1)
    click.echo(header(result))
    click.echo(table(result))
    common = result.common_images()
    if common is not None:
        click.echo(f"\nOn the {len(common)} images every method ran:")
        click.echo(table(result, common))
    if report is not None:
        try:
            index = write_report(result, report, overwrite=overwrite)
        except DenoiseError as exc:
            opt.error(str(exc))
            ctx.exit(1)
        click.echo(f"report: {index}", err=True)
