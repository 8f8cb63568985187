"""Ray Tune 1.x's ``ray.tune.sample`` path: the search-space domains and sampling functions.

The same objects as :mod:`tunelab.search.sample` (Ray 2.x's ``ray.tune.search.sample``):
the domain classes ``Domain``, ``Float``, ``Integer``, ``Categorical``, ``Function``, the
samplers ``Sampler``, ``Uniform``, ``LogUniform``, ``Normal``, ``Grid``, ``Quantized``, and
the functions ``uniform``, ``quniform``, ``loguniform``, ``qloguniform``, ``choice``,
``randint``, ``qrandint``, ``lograndint``, ``qlograndint``, ``randn``, ``qrandn``,
``sample_from`` and ``function``.
"""

from __future__ import annotations

from tunelab.search.sample import *  # noqa: F403
from tunelab.search.sample import __all__  # noqa: F401
