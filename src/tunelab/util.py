"""0.x spelling ``tune.util``: the same names as :mod:`tunelab.utils`."""

from tunelab.utils import *  # noqa: F403
from tunelab.utils import __all__  # noqa: F401

# Ray Core's ``ray.util`` names an ``import tunelab as ray`` script may reach
_RAY_CORE = frozenset(
    {
        "ActorPool",
        "get_current_placement_group",
        "get_placement_group",
        "multiprocessing",
        "placement_group",
        "placement_group_table",
        "queue",
        "remove_placement_group",
    }
)


def __getattr__(name: str) -> object:
    if name in _RAY_CORE:
        raise AttributeError(
            f"module 'tunelab.util' has no attribute {name!r}: tunelab has no counterpart of "
            f"Ray Core's ray.util.{name} (a trial's resources are asked for with "
            "resources_per_trial / tune.with_resources / PlacementGroupFactory)"
        )
    raise AttributeError(f"module 'tunelab.util' has no attribute {name!r}")
