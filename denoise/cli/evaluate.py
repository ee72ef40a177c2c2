"""`denoise eval`: PSNR and SSIM of denoised files against clean ones."""
import json
from pathlib import Path

import click

from . import options as opt


@click.command("eval")
@click.option("--clean", required=True, type=click.Path(exists=True, path_type=Path),
              help="Clean reference image or folder.")
@click.option("--denoised", required=True, type=click.Path(exists=True, path_type=Path),
              help="Denoised image or folder; files are paired with --clean by name (with "
                   "-r, by their path relative to each folder).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="Output format on stdout.")
@opt.recursive_opt
@opt.verbosity
@click.pass_context
def evaluate(ctx, clean, denoised, fmt, recursive):
    """Score denoised images against clean ones: PSNR (dB) and SSIM per image, and the mean.

    Files that cannot be scored are named on stderr (exit code 1); the others are
    still scored.

    \b
    Example:
      denoise eval --clean sample_images/clean --denoised out/bilateral
    """
    from ..metrics import score_folder

    scores, report = score_folder(clean, denoised, recursive=recursive)
    for _, message in report.failed:
        opt.error(message)
    if not scores:
        opt.error(f"no denoised image in {denoised} could be scored")
        ctx.exit(1)
    click.echo(render(scores, fmt))
    opt.finish(ctx, report, what="scored")


def render(scores, fmt):
    """Scores as a table, CSV or JSON, with their mean."""
    mean_psnr = sum(s.psnr for s in scores) / len(scores)
    mean_ssim = sum(s.ssim for s in scores) / len(scores)
    if fmt == "json":
        return json.dumps({"images": [vars(s) for s in scores],
                           "mean": {"psnr": mean_psnr, "ssim": mean_ssim, "n": len(scores)}},
                          indent=2)
    if fmt == "csv":
        rows = ["name,psnr,ssim"] + [f"{s.name},{s.psnr:.4f},{s.ssim:.5f}" for s in scores]
        return "\n".join(rows + [f"mean,{mean_psnr:.4f},{mean_ssim:.5f}"])
    width = max(len("mean"), *(len(s.name) for s in scores))
    rows = [f"{'image':<{width}}  {'PSNR dB':>8}  {'SSIM':>6}"]
    rows += [f"{s.name:<{width}}  {s.psnr:8.2f}  {s.ssim:6.4f}" for s in scores]
    rows.append(f"{'mean':<{width}}  {mean_psnr:8.2f}  {mean_ssim:6.4f}")
    return "\n".join(rows)
