"""``from tunelab import session`` / Ray Tune's ``ray.tune.session``.

The 2.x in-trial API of :mod:`tunelab.air.session` (``report``, ``get_checkpoint``,
``get_trial_*``, ...) plus the names 0.8-1.x had in this module: ``checkpoint_dir`` (the
same object as ``tunelab.checkpoint_dir``), ``make_checkpoint_dir``/``save_checkpoint``
(0.8.6), and ``init``/``shutdown``/``get_session`` (1.x's process-wide session, see
:mod:`tunelab._session_legacy`). ``session.init``/``session.shutdown`` are not
``tunelab.init``/``tunelab.shutdown`` (``ray.init``/``ray.shutdown``'s counterparts).
"""

from tunelab._session import checkpoint_dir
from tunelab._session_legacy import (
    get_session,
    init,
    make_checkpoint_dir,
    save_checkpoint,
    shutdown,
)
from tunelab.air.session import *  # noqa: F403
from tunelab.air.session import __all__ as _AIR_NAMES

__all__ = [
    *_AIR_NAMES,
    "checkpoint_dir",
    "get_session",
    "init",
    "make_checkpoint_dir",
    "save_checkpoint",
    "shutdown",
]
