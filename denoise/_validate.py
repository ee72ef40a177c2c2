"""Parameter checks that raise InvalidParameterError with a message naming the value."""
import math
import numbers

from .errors import InvalidParameterError


def check_int(name, value, *, minimum=None, maximum=None, odd=False):
    """Return `value` as int if it is an integer within bounds, else raise."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise InvalidParameterError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise InvalidParameterError(f"{name} must be an integer >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise InvalidParameterError(f"{name} must be an integer <= {maximum}, got {value}")
    if odd and value % 2 == 0:
        raise InvalidParameterError(f"{name} must be an odd integer, got {value}")
    return int(value)


def check_positive(name, value):
    """Return `value` as float if it is a finite number > 0, else raise."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise InvalidParameterError(f"{name} must be a number > 0, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise InvalidParameterError(f"{name} must be a finite number > 0, got {value}")
    return float(value)


def check_at_most(name, value, limit, reason):
    """Return `value` if it is <= `limit` (not NaN), else raise giving `reason`: the
    limit a quantity derived from `value` must respect."""
    if not value <= limit:
        raise InvalidParameterError(f"{name} must be <= {limit:g} ({reason}), got {value:g}")
    return value


#: How many times the data range an intensity (sigma, h) may be, as for a relative
#: sigma: larger values overflow what is derived from them and smooth no more.
MAX_RELATIVE = 1e6


def check_intensity(name, value, data_range):
    """Return `value` as float if it is a finite number > 0 and at most MAX_RELATIVE
    times `data_range` (the image's units per working unit), else raise."""
    return check_at_most(name, check_positive(name, value), MAX_RELATIVE * data_range,
                         f"{MAX_RELATIVE:g} times the data range {data_range:g}")


def check_bool(name, value):
    """Return `value` if it is a bool, else raise."""
    if not isinstance(value, bool):
        raise InvalidParameterError(f"{name} must be true or false, got {value!r}")
    return value


def check_choice(name, value, choices):
    """Return `value` if it is one of `choices`, else raise naming them."""
    if value not in choices:
        raise InvalidParameterError(
            f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value
