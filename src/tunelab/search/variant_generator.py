"""Public path of grid/random search: ``from tunelab.search.variant_generator import ...``."""

from __future__ import annotations

from tunelab.search._resolve import RecursiveDependencyError, format_vars
from tunelab.search._resolve import contains_unresolved as has_unresolved_values
from tunelab.search._sample import grid_search
from tunelab.search._variant_generator import (
    BasicVariantGenerator,
    count_grid_variants,
    flatten_resolved_vars,
    generate_variants,
)

__all__ = [
    "BasicVariantGenerator",
    "RecursiveDependencyError",
    "count_grid_variants",
    "flatten_resolved_vars",
    "format_vars",
    "generate_variants",
    "grid_search",
    "has_unresolved_values",
]
