"""The `denoise` command line: one module per command, each thin (parse, call the
library, render, exit: 0 all done, 1 some inputs failed, 2 usage error)."""
import click

from .. import __version__
from ..io import exit_on_sigterm
from . import options as opt
from .bench import bench
from .estimate import estimate
from .evaluate import evaluate
from .methods import methods
from .noise import noise
from .regress import regress
from .run import run
from .tune import tune
from .warmup import warmup


class App(click.Group):
    """The command group: an interrupt (Ctrl-C) while parsing, planning or running
    ends with click's one line "Aborted!" and exit code 130 (128 + SIGINT)."""

    def make_context(self, *args, **kwargs):
        with opt.interrupt_aborts():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx):
        with opt.interrupt_aborts():
            return super().invoke(ctx)


@click.group(cls=App, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="denoise")
@opt.verbosity
def main():
    """Remove noise from images with classical filters (Numba kernels), and score
    the results with PSNR/SSIM.

    -v and -q work before or after the command.
    """
    exit_on_sigterm()


for command in (run, methods, noise, estimate, evaluate, bench, regress, tune, warmup):
    main.add_command(command)

__all__ = ["main"]
