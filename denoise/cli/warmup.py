"""`denoise warmup`: compile the kernels ahead of the first run."""
import click

from . import options as opt


@click.command()
@click.argument("names", nargs=-1, metavar="[METHOD]...", type=opt.ours)
@click.option("--dtype", "dtypes", default="uint8,uint16", show_default=True,
              help="Comma-separated dtypes to prepare for (uint8, uint16, float32, float64): "
                   "the median family compiles per dtype, the others once.")
@opt.verbosity
@click.pass_context
def warmup(ctx, names, dtypes):
    """Compile the kernels of METHOD (default: all of ours) for gray and color images
    at their defaults, so that the first `denoise run` does not wait. The kernels
    are cached on disk (Numba's cache: next to the package, or NUMBA_CACHE_DIR).

    \b
    Examples:
      denoise warmup
      denoise warmup nlm median --dtype uint8
    """
    from ..registry import our_methods
    from ..warmup import warm_up

    with opt.usage_errors():
        for name, seconds, compiled in warm_up(
                names or our_methods(), [d.strip() for d in dtypes.split(",")],
                compiling=lambda name: opt.note(ctx, f"compiling {name} kernels...")):
            state = "compiled and cached" if compiled else "already cached"
            opt.note(ctx, f"{name}: {state} ({seconds:.1f} s)")
