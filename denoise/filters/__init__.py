"""The methods. Importing a module registers its method (explicit list, no scanning)."""
from . import bilateral, lark, median, nlm  # noqa: F401  (registration side effect)
