"""``from tunelab import session``: the same module as ``tunelab.air.session``."""

from tunelab.air.session import *  # noqa: F403
from tunelab.air.session import __all__  # noqa: F401
