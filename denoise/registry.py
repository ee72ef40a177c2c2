"""The method registry: one :class:`FilterSpec` per method, built from the function itself.

A method is a function ``f(image, *, sigma=None, **params)`` decorated with
:func:`register`. Its keyword-only parameters, their defaults and types come from
the signature; its summary, parameter descriptions and reference come from the
numpydoc docstring; the rule that turns the noise level into default parameters is
passed to :func:`register`. The CLI, evaluation and benchmarks discover methods
only through :data:`REGISTRY`.
"""
import inspect
import re
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ._validate import check_positive
from .errors import InvalidParameterError, MissingSigmaError, UnknownFilterError

REGISTRY: dict = {}
REFERENCE_PREFIX = "ref:"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Param:
    """One keyword-only parameter of a method."""

    name: str
    type: type                 # int, float, bool or str
    default: Any               # None means "derived from sigma"
    doc_type: str              # the numpydoc type line, e.g. "int, default None"
    description: str           # first sentence(s) of the numpydoc description


@dataclass(frozen=True)
class FilterSpec:
    """A registered method: the function, its parameters and its sigma rule."""

    name: str
    func: Callable
    summary: str
    reference: str
    rule: Optional[Callable]   # rule(sigma, data_range, values) -> derived values
    family: str                # what it computes ("nlm", "median"...): pairs ours with refs

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
        """``{name: default}`` from the signature (None: derived from sigma)."""
        return {p.name: p.default for p in self.params}

    def resolve(self, sigma, data_range, given=None):
        """Parameters for a call: `given` plus, for those left None, the sigma rule.

        `sigma` and the returned intensities are in image units; `data_range` is the
        image's nominal range (255, 65535 or 1.0). Raises MissingSigmaError when a
        parameter needs `sigma` and none was given.
        """
        values = dict(self.defaults)
        values.update({k: v for k, v in (given or {}).items() if k != "sigma"})
        return fill_from_sigma(self.rule, sigma, data_range, **values)

    def needs_sigma(self, given=None):
        """True if, with `given` parameters, the method cannot run without sigma."""
        try:
            self.resolve(None, 255.0, given)
        except MissingSigmaError:
            return True
        return False


def register(name=None, *, rule=None, family=None):
    """Register the decorated function as a method; `rule` derives defaults from sigma.

    `family` (default: the name) groups a method with the references that compute
    the same thing, so benchmarks can quote ratios between them.
    """
    def decorator(func):
        key = name or func.__name__
        if key in REGISTRY:
            raise RuntimeError(f"method {key!r} is registered twice")
        doc = inspect.getdoc(func) or ""
        REGISTRY[key] = FilterSpec(
            name=key, func=func, summary=doc.splitlines()[0] if doc else "",
            reference=_section(doc, "References"), rule=rule, family=family or key)
        return func
    return decorator


def fill_from_sigma(rule, sigma, data_range, **values):
    """Return `values` with each None replaced by what the method's sigma rule derives.

    ``rule(sigma, data_range, values)`` returns the values it derives for the
    None entries (it may read the ones the caller set). Wrappers call this with
    their own arguments, so the library and the CLI derive defaults the same way.
    `sigma` (image units) is validated when given.
    """
    if sigma is not None:
        check_positive("sigma", sigma)
    missing = [k for k, v in values.items() if v is None]
    if missing and rule is not None:
        derived = rule(sigma, data_range, dict(values))
        values.update({k: derived[k] for k in missing if k in derived})
    return values


def our_methods():
    """Names of this project's methods (not the ``ref:`` adapters), sorted."""
    return sorted(name for name, spec in REGISTRY.items() if not spec.is_reference)


def get_filter(name):
    """Return the FilterSpec for `name`, or raise UnknownFilterError naming the choices."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownFilterError(
            f"unknown method {name!r}; choose from: {', '.join(sorted(REGISTRY))}") from None


def require_sigma(method, sigma, needed_for):
    """Raise MissingSigmaError unless `sigma` is given (call from sigma rules)."""
    if sigma is None:
        raise MissingSigmaError(
            f"{method} needs the noise level to set {needed_for}: give sigma "
            f"(--sigma VALUE, in the image's units) or set {needed_for} explicitly")
    return sigma


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


def _coerce(key, typ, text):
    if text.strip().lower() == "none":
        return None
    if typ is bool:
        low = text.strip().lower()
        if low in _TRUE or low in _FALSE:
            return low in _TRUE
        raise InvalidParameterError(f"{key} must be true or false, got {text!r}")
    try:
        return typ(text)
    except ValueError:
        raise InvalidParameterError(
            f"{key} must be of type {typ.__name__}, got {text!r}") from None


def _params_of(func):
    hints = typing.get_type_hints(func)
    docs = _param_docs(inspect.getdoc(func) or "")
    out = []
    for p in inspect.signature(func).parameters.values():
        if p.kind is not inspect.Parameter.KEYWORD_ONLY:
            continue
        doc_type, description = docs.get(p.name, ("", ""))
        out.append(Param(p.name, _base_type(hints.get(p.name, str)), p.default,
                         doc_type, description))
    return out


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
