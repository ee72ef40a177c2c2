"""The method registry: one :class:`FilterSpec` per method, and the plan/apply protocol.

A method is declared once, by its public function's signature and numpydoc
docstring, decorated with :func:`register`::

    @register(rule=_rule, prepare=_prepare, apply=_apply)
    def nlm(image, *, sigma=None, patch_radius=None, search_radius=7, h=None):
        \"\"\"One-line summary. ... Parameters ... References ...\"\"\"

The decorated body is never run: the registry builds the function from two phases.

* Planning: :meth:`FilterSpec.plan` takes what the image is (:class:`ImageInfo`,
  from an array or a file header), sigma and the given parameters. Constants come
  from the signature; parameters left ``None`` there come from the method's sigma
  rule ``rule(info, sigma, values)``, which derives only what depends on sigma,
  the channels or the data range. The method's ``prepare(info, sigma, values)``
  validates every value and builds its tables, and declares the halo (pixels of
  context an output pixel depends on) and the image-level statistics it fits.
  Planning never filters.
* Applying: ``apply(work, plan)`` filters the float32 working array (H, W, C),
  or, for ``native`` methods (order statistics), one plane in the image's dtype.
  :meth:`FilterSpec.run` is the one driver around it (working form, alpha, dtype).
* Placing: a method whose result depends on where a pixel lies in the frame (a
  grid of reference patches) declares ``locate(plan, row, col)``, which returns
  the plan for a part of the image whose first pixel is at (row, col). A tile
  grown by the halo and located so gives exactly the whole image's result.

The CLI, evaluation and benchmarks discover methods only through :data:`REGISTRY`.
"""
import functools
import inspect
import math
import re
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ._image import ImageInfo, check_image, from_working, map_planes, to_working
from ._validate import check_intensity
from .errors import DenoiseError, InvalidParameterError, MissingSigmaError, UnknownFilterError

REGISTRY: dict = {}
REFERENCE_PREFIX = "ref:"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Param:
    """One keyword-only parameter of a method."""

    name: str
    type: type                 # int, float, bool or str
    default: Any               # None: derived (from sigma, channels or range) or automatic
    doc_type: str              # the numpydoc type line, e.g. "int, default from sigma"
    description: str           # the numpydoc description, joined into one line


@dataclass(frozen=True)
class Setup:
    """What a method's ``prepare`` returns: its settings and what it depends on."""

    config: Any                # the method's own settings for apply (working units, tables)
    halo: Optional[int]        # context in pixels an output pixel needs; None: the whole image
    statistics: tuple = ()     # image-level statistics apply fits from the whole image


@dataclass(frozen=True)
class Plan:
    """A method planned for one kind of image: every parameter resolved and checked."""

    method: str
    info: ImageInfo
    sigma: Optional[float]     # image units
    params: dict               # every parameter, as the caller would pass it (image units)
    config: Any
    halo: Optional[int]
    statistics: tuple = ()

    def describe(self):
        """One line: the values a call uses, the halo and any image-level statistics."""
        values = ", ".join(f"{k}={format_value(v)}" for k, v in self.params.items())
        halo = "the whole image" if self.halo is None else f"{self.halo} px"
        fitted = f"; fitted on the whole image: {', '.join(self.statistics)}" \
            if self.statistics else ""
        return f"{values} (halo {halo}{fitted})"


@dataclass(frozen=True)
class FilterSpec:
    """A registered method: its public function, its two phases and its sigma rule."""

    name: str
    func: Callable
    summary: str
    reference: str
    family: str                # what it computes ("nlm", "median"...): pairs ours with refs
    prepare: Callable          # prepare(info, sigma, values) -> Setup
    apply: Callable            # apply(work, plan) -> out
    rule: Optional[Callable] = None    # rule(info, sigma, values) -> {name: derived value}
    fit: Optional[Callable] = None     # fit(work, plan) -> plan with its statistics fixed
    locate: Optional[Callable] = None  # locate(plan, row, col) -> plan for a part at (row, col)
    sigma_required: bool = False       # sigma is used whatever the parameters
    native: bool = False       # apply runs on planes in the image's own dtype

    @property
    def is_reference(self):
        """True for the adapters of other packages (``ref:`` names), false for ours."""
        return self.name.startswith(REFERENCE_PREFIX)

    @property
    def params(self):
        """Keyword-only parameters except ``sigma``, in signature order."""
        return [p for p in _params_of(self.func) if p.name != "sigma"]

    @property
    def defaults(self):
        """``{name: default}`` from the signature (None: derived or automatic)."""
        return {p.name: p.default for p in self.params}

    def resolve(self, info, sigma=None, given=None):
        """Every parameter's value for an image like `info`: `given`, else the
        signature's constant, else what the sigma rule derives.

        Raises MissingSigmaError naming the parameters that need sigma when it is
        None, and InvalidParameterError for an unknown parameter name.
        """
        if sigma is not None:
            check_intensity("sigma", sigma, info.data_range)
        elif self.sigma_required:
            raise MissingSigmaError(
                f"{self.name} needs the noise level, whatever its parameters: give sigma "
                f"(--sigma VALUE, in the image's units)")
        values = dict(self.defaults)
        for key, value in (given or {}).items():
            if key not in values:
                valid = ", ".join(sorted(values)) or "(none)"
                raise InvalidParameterError(
                    f"{self.name} has no parameter {key!r}; valid parameters: {valid}")
            values[key] = value
        if self.rule is not None and any(v is None for v in values.values()):
            derived = self.rule(info, sigma, dict(values))
            values.update({k: v for k, v in derived.items() if values.get(k) is None})
        missing = [k for k, v in values.items() if v is None]
        if sigma is None and missing:
            raise MissingSigmaError(
                f"{self.name} needs the noise level to set {', '.join(missing)}: give "
                f"sigma (--sigma VALUE, in the image's units) or set "
                f"{' and '.join(missing)} (-p {missing[0]}=...)")
        return values

    def plan(self, info, sigma=None, **given):
        """Plan the method for images like `info` (see the module docstring). Never filters."""
        values = self.resolve(info, sigma, given)
        setup = self.prepare(info, sigma, values)
        return Plan(self.name, info, None if sigma is None else float(sigma), values,
                    setup.config, setup.halo, tuple(setup.statistics))

    def place(self, plan, row, col):
        """The plan for the part of the image whose first pixel is at (row, col)."""
        return plan if self.locate is None else self.locate(plan, row, col)

    def run(self, image, plan):
        """Filter `image` with `plan`: the one driver (working form, alpha, dtype)."""
        check_image(image)
        info = ImageInfo.from_shape(image.shape, image.dtype)
        if (info.channels, info.dtype) != (plan.info.channels, plan.info.dtype):
            raise InvalidParameterError(
                f"{self.name}: the plan is for {plan.info.describe()} images, "
                f"not {info.describe()}")
        if self.native:
            return map_planes(image, lambda plane: self.apply(plane, plan))
        work, layout = to_working(image, plan.info.data_range)
        return from_working(self.apply(work, plan), layout)

    def needs_sigma(self, info=None, given=None):
        """True if, with `given` parameters, the method cannot be planned without sigma
        (a parameter derived from it, or a method that always uses it). Never filters."""
        try:
            self.plan(info or ImageInfo.typical(), None, **(given or {}))
        except MissingSigmaError:
            return True
        except DenoiseError:
            return False
        return False


def register(name=None, *, prepare, apply, rule=None, fit=None, locate=None, native=False,
             family=None, available=True, sigma_required=False):
    """Make the decorated stub a method: its signature and docstring define it.

    Returns the public function ``f(image, *, sigma=None, data_range=None, **params)``,
    which plans for the image and runs the plan. `data_range` (every method takes it)
    is what the image's values span, in its units; by default 255 / 65535 for 8 / 16
    bits and, for float images, read from the values (:func:`~._image.image_range`). `family` (default: the name) groups a method
    with the references that compute the same thing. With `available` false (a
    missing optional package) the function exists but is not registered.
    """
    def decorator(stub):
        key = name or stub.__name__
        signature = inspect.signature(stub)
        doc = inspect.getdoc(stub) or ""

        @functools.wraps(stub)
        def method(*args, data_range=None, **kwargs):
            bound = signature.bind(*args, **kwargs)
            given = dict(bound.arguments)
            image = given.pop("image")
            sigma = given.pop("sigma", None)
            info = ImageInfo.of(image, data_range)
            return spec.run(image, spec.plan(info, sigma, **given))

        method.__doc__ = _with_data_range(doc)
        spec = FilterSpec(name=key, func=method, summary=doc.splitlines()[0] if doc else "",
                          reference=_section(doc, "References"), family=family or key,
                          prepare=prepare, apply=apply, rule=rule, fit=fit, locate=locate,
                          native=native, sigma_required=sigma_required)
        if available:
            if key in REGISTRY:
                raise RuntimeError(f"method {key!r} is registered twice")
            REGISTRY[key] = spec
        return method
    return decorator


_DATA_RANGE_DOC = """data_range : float, optional
    What the image's values span, in its units (every method takes it): the
    image is divided by it before filtering and the sigma rules read sigma on
    it. Default 255 / 65535 for 8 / 16 bits; for float images 1, 255 or 65535,
    the smallest whose four times holds every value, else the largest magnitude
    (``denoise.image_range``)."""


def _with_data_range(doc):
    """`doc` with the `data_range` parameter documented at the end of Parameters."""
    lines = doc.splitlines()
    try:
        end = lines.index("Returns") - 1
    except ValueError:
        return doc
    while end > 0 and not lines[end - 1].strip():
        end -= 1
    return "\n".join(lines[:end] + _DATA_RANGE_DOC.splitlines() + lines[end:])


def our_methods():
    """Names of this project's methods (not the ``ref:`` adapters), sorted."""
    return sorted(name for name, spec in REGISTRY.items() if not spec.is_reference)


def references():
    """Names of the installed ``ref:`` adapters, sorted."""
    return sorted(name for name, spec in REGISTRY.items() if spec.is_reference)


def get_filter(name):
    """Return the FilterSpec for `name`, or raise UnknownFilterError naming the choices."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownFilterError(
            f"unknown method {name!r}; choose from: {', '.join(sorted(REGISTRY))}") from None


def defaults_table(spec, sigmas=(5, 10, 15, 25, 35, 50, 75), channels=(1, 3)):
    """The derived defaults at each sigma (8-bit units): ``(columns, rows)``.

    Columns are the parameters whose signature default is None (derived); each row
    is ``(channels, sigma, [value per column])``, computed by the method's own rule,
    so the table can never disagree with what a call uses.
    """
    columns = [p.name for p in spec.params if p.default is None]
    rows = []
    for count in channels:
        info = ImageInfo.typical("uint8", count)
        for sigma in sigmas:
            values = spec.resolve(info, float(sigma))
            rows.append((count, sigma, [values[c] for c in columns]))
    return columns, rows


def coerce_params(spec, raw):
    """Convert ``{key: "text"}`` from the command line to typed parameter values."""
    by_name = {p.name: p for p in spec.params}
    out = {}
    for key, text in raw.items():
        if key not in by_name:
            valid = ", ".join(sorted(by_name)) or "(none)"
            raise InvalidParameterError(
                f"{spec.name} has no parameter {key!r}; valid parameters: {valid}")
        out[key] = _coerce(key, by_name[key].type, text)
    return out


def format_value(value):
    """A parameter value as a user would type it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "inf" if math.isinf(value) else f"{value:.4g}"
    return str(value)


def _coerce(key, typ, text):
    if text.strip().lower() == "none":
        return None
    if typ is bool:
        low = text.strip().lower()
        if low in _TRUE or low in _FALSE:
            return low in _TRUE
        raise InvalidParameterError(f"{key} must be true or false, got {text!r}")
    try:
        value = typ(text)
    except ValueError:
        raise InvalidParameterError(
            f"{key} must be of type {typ.__name__}, got {text!r}") from None
    if typ is float and not math.isfinite(value):
        raise InvalidParameterError(f"{key} must be a finite number, got {text.strip()}")
    return value


@functools.lru_cache(maxsize=None)
def _params_of(func):
    """The keyword-only parameters of `func` (read once: signature and docstring)."""
    hints = typing.get_type_hints(func)
    docs = _param_docs(inspect.getdoc(func) or "")
    out = []
    for p in inspect.signature(func).parameters.values():
        if p.kind is not inspect.Parameter.KEYWORD_ONLY:
            continue
        doc_type, description = docs.get(p.name, ("", ""))
        out.append(Param(p.name, _base_type(hints.get(p.name, str)), p.default,
                         doc_type, description))
    return tuple(out)


def _base_type(hint):
    """``int | None`` -> int; plain types pass through."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0] if args else str
    return hint if isinstance(hint, type) else str


def _section(doc, title):
    """Body of a numpydoc section (text between its underline and the next section)."""
    match = re.search(rf"^{title}\n-+\n(.*?)(?=^\w[\w ]*\n-+\n|\Z)", doc, re.S | re.M)
    return inspect.cleandoc(match.group(1)) if match else ""


def _param_docs(doc):
    """``{name: (type line, description)}`` from a numpydoc Parameters section."""
    out = {}
    for block in re.split(r"\n(?=\S)", _section(doc, "Parameters")):
        head, _, body = block.partition("\n")
        name, _, doc_type = head.partition(":")
        out[name.strip()] = (doc_type.strip(), " ".join(body.split()))
    return out


__all__ = ["REGISTRY", "REFERENCE_PREFIX", "FilterSpec", "Param", "Plan", "Setup",
           "coerce_params", "defaults_table", "format_value", "get_filter",
           "our_methods", "references", "register"]
