"""What the compat functions share: the fallback to the original library, its
one-time warning and the error when the original is not installed."""
import importlib
import warnings

from ..errors import DenoiseError


class CompatFallbackWarning(UserWarning):
    """A compat call was computed by the original library, not by this project's kernels."""


class OriginalNotInstalledError(DenoiseError, ImportError):
    """A compat call needs the original library, which is not installed."""


#: (function, reason) pairs already warned about in this process.
_WARNED = set()


def original(module, name, install):
    """The original library's function `name` of `module`; OriginalNotInstalledError
    naming `install` (what to install) when the module cannot be imported."""
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError:
        raise OriginalNotInstalledError(
            f"{module}.{name} is not installed: pip install {install}") from None


def fall_back(label, reason, target, install, *args, **kwargs):
    """Call the original `target` ("module.function") with the arguments, after a
    CompatFallbackWarning (once per `label` and `reason`) saying why ours did not.

    Raises OriginalNotInstalledError, naming what to install or what to change,
    when the original library is missing.
    """
    module, _, name = target.rpartition(".")
    try:
        func = original(module, name, install)
    except OriginalNotInstalledError:
        raise OriginalNotInstalledError(
            f"{label}: {reason}, which denoise's kernels do not compute, and {target} is "
            f"not installed: pip install {install}, or change the call") from None
    if (label, reason) not in _WARNED:
        _WARNED.add((label, reason))
        warnings.warn(f"{label}: {reason}, which denoise's kernels do not compute; "
                      f"computed by {target} instead (warned once)",
                      CompatFallbackWarning, stacklevel=3)
    return func(*args, **kwargs)


def reset_warnings():
    """Forget which fallbacks were warned about (each warns once again)."""
    _WARNED.clear()


__all__ = ["CompatFallbackWarning", "OriginalNotInstalledError", "fall_back", "original",
           "reset_warnings"]
