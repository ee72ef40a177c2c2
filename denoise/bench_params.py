"""`denoise bench -p`: method parameters given on the command line.

Values are in the images' units, as with ``denoise run``; a method is called on
the float image on [0, 1] (the benchmark protocol), so intensities are divided by
the data range on the way (:func:`working_params`). Given values replace what the
method's sigma rule would choose.
"""
import functools
import math

from ._image import ImageInfo
from .errors import DenoiseError, InvalidParameterError
from .protocol import method_sigma
from .registry import REFERENCE_PREFIX, REGISTRY, coerce_params


def reference_name(name):
    """``bm3d`` -> ``ref:bm3d`` when only the prefixed name exists."""
    if name not in REGISTRY and REFERENCE_PREFIX + name in REGISTRY:
        return REFERENCE_PREFIX + name
    return name


def resolve_params(raw, chosen, methods):
    """-p values ``{"h": "12", "nlm.radius": "2"}`` -> ``{method: {name: value}}``.

    A plain NAME applies to every method of `chosen` (those given with -m) that has
    it, and it is an error if none has; METHOD.NAME to that method of the run
    (`methods`, references included) only, and wins over a plain NAME. Values are
    in the images' units, as with ``denoise run``.
    """
    out = {}
    for key, text in sorted(raw.items(), key=lambda item: "." in item[0]):
        method, dot, name = key.rpartition(".")
        if dot:
            method = reference_name(method)
            if method not in methods:
                raise InvalidParameterError(
                    f"-p {key}: {method!r} is not in the run; methods: {', '.join(methods)}")
            targets = [method]
        else:
            targets = [m for m in chosen if name in {p.name for p in REGISTRY[m].params}]
            if not targets:
                raise InvalidParameterError(
                    f"-p {key}: no method chosen ({', '.join(chosen)}) has a parameter "
                    f"{name!r} (`denoise methods NAME` lists them; METHOD.{name}=VALUE "
                    f"sets a reference's)")
        for target in targets:
            out.setdefault(target, {}).update(coerce_params(REGISTRY[target], {name: text}))
    return out


def working_params(spec, given, data_range):
    """`given` (image units) for the float image on [0, 1] a method is called with:
    intensities (the parameters whose sigma-derived value scales with the data range,
    as h or sigma_range) divided by `data_range`, the others as they are."""
    scaled = _intensities(spec.name) if given and data_range != 1.0 else ()
    return {k: v / data_range if k in scaled and v is not None else v
            for k, v in (given or {}).items()}


@functools.lru_cache(maxsize=None)
def _intensities(name):
    spec = REGISTRY[name]
    try:
        eight = spec.resolve(ImageInfo.typical("uint8"), 25.0)
        unit = spec.resolve(ImageInfo.typical("float64"), 25.0 / 255.0)
    except DenoiseError:
        return frozenset()
    return frozenset(k for k, v in eight.items()
                     if isinstance(v, float) and isinstance(unit[k], float) and unit[k]
                     and math.isclose(v / unit[k], 255.0, rel_tol=1e-3))


def check_params(params, methods):
    """The non-empty `params` ({method: {name: value}}); InvalidParameterError for a
    method not among `methods`."""
    params = {m: dict(v) for m, v in (params or {}).items() if v}
    unknown = set(params) - set(methods)
    if unknown:
        raise InvalidParameterError(
            f"parameters for methods not in the run: {', '.join(sorted(unknown))}")
    return params


def plan_params(specs, first, result):
    """Plan each method given parameters at every level: a bad value is refused
    before any work (InvalidParameterError)."""
    crop, data_range = first
    info = ImageInfo.of(crop / data_range)
    for spec in specs:
        given = result.params.get(spec.name)
        if not given:
            continue
        working = working_params(spec, given, data_range)
        for level in result.sigmas:
            sigma = method_sigma(result.noise, level)
            spec.plan(info, 0.1 if sigma is None else sigma / data_range, **working)
