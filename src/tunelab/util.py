"""0.x spelling ``tune.util``: the same names as :mod:`tunelab.utils`."""

from tunelab.utils import *  # noqa: F403
from tunelab.utils import __all__  # noqa: F401
