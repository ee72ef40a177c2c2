"""The methods. Importing a module registers its method (explicit list, no scanning)."""
from .._config import kernel_cache

with kernel_cache():
    from . import (adaptive_median, attention, bilateral, lark, median, nlm,  # noqa: F401  (registration)
                   weighted_median)
