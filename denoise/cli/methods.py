"""`denoise methods`: list the methods, or describe one with the values a call uses."""
import textwrap

import click

from . import options as opt

EXAMPLE_SIGMA = 25.0          # 8-bit units, scaled to the dtype's range


@click.command()
@click.argument("method", required=False, type=opt.LiveChoice(opt.method_names))
@click.option("--sigma", type=float, default=None, callback=opt.positive,
              help="Noise level in the image's units for the values shown "
                   "(default: 25 in 8-bit units, scaled to --dtype).")
@click.option("--channels", type=click.Choice(["1", "3"]), default="1", show_default=True,
              help="1 (gray) or 3 (color).")
@click.option("--dtype", type=click.Choice(["uint8", "uint16", "float32", "float64"]),
              default="uint8", show_default=True, help="The image's dtype.")
@opt.verbosity
def methods(method, sigma, channels, dtype):
    """List the methods (ours, then the ref: adapters of other packages), or describe
    METHOD: parameters, units, the defaults each rule derives, the values a call on
    such an image uses, its halo, and the reference."""
    from ..registry import REGISTRY, get_filter, our_methods, references

    if method is None:
        width = max(map(len, REGISTRY))
        for name in our_methods():
            click.echo(f"{name:<{width}}  {REGISTRY[name].summary}")
        if references():
            click.echo("\nReferences (other packages, same interface; for comparison):")
        for name in references():
            click.echo(f"{name:<{width}}  {REGISTRY[name].summary}")
        click.echo("\nEvery method writes its outputs the same way (`denoise run`): the input's "
                   "EXIF,\nICC profile and resolution are kept (--strip-metadata drops them), "
                   "and a JPEG\nkeeps the input's quality (--quality Q sets it).")
        return
    click.echo(describe(get_filter(method), sigma, int(channels), dtype))


def describe(spec, sigma, channels, dtype):
    """Text of `denoise methods NAME`."""
    from .._image import ImageInfo
    from ..errors import DenoiseError
    from ..registry import defaults_table, format_value

    lines = [f"{spec.name}: {spec.summary}", "", "Parameters (-p KEY=VALUE):"]
    for p in spec.params:
        lines.append(f"  {p.name} : {p.doc_type}")
        lines.append(textwrap.fill(p.description, width=88, initial_indent=" " * 6,
                                   subsequent_indent=" " * 6))
    columns, rows = defaults_table(spec)
    if columns:
        lines += ["", "Defaults derived from the noise level (8-bit images; sigma in 8-bit "
                      "units, intensities in image units):", ""]
        table = [["image", "sigma", *columns]]
        table += [["gray" if c == 1 else "color", f"{s:g}", *map(format_value, values)]
                  for c, s, values in rows]
        widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
        lines += ["  " + "  ".join(cell.rjust(w) for cell, w in zip(r, widths)) for r in table]
    info = ImageInfo.typical(dtype, channels)
    shown = EXAMPLE_SIGMA * info.data_range / 255.0 if sigma is None else sigma
    lines += ["", f"A call on a {info.describe()} image with --sigma {shown:g} uses:"]
    try:
        lines.append("  " + spec.plan(info, shown).describe())
    except DenoiseError as exc:
        lines.append(f"  (cannot be planned: {exc})")
    if spec.needs_sigma(info):
        always = spec.needs_sigma(info, _all_values(spec, info, shown))
        lines += ["", "Needs --sigma (the noise level), whatever the parameters." if always
                  else "Needs --sigma (the noise level) unless its sigma-derived "
                       "parameters are given."]
    if spec.reference:
        lines += ["", "Reference:", *("  " + line for line in spec.reference.splitlines())]
    return "\n".join(lines)


def _all_values(spec, info, sigma):
    """Every parameter's value at `sigma` ({} if it cannot be resolved)."""
    from ..errors import DenoiseError

    try:
        return spec.resolve(info, sigma)
    except DenoiseError:
        return {}
