"""Ray Tune's ``ray.tune.integration`` paths (``tunelab.integration.<framework>``).

Every module Ray Tune had here imports in tunelab, so that a ported script gets past its
import lines and fails on the one name tunelab does not have, with an
:class:`IntegrationNotAvailableError` (an ``ImportError``) that says why:

* experiment trackers and training-framework callbacks (``keras``, ``lightgbm``, ``mlflow``,
  ``mxnet``, ``pytorch_lightning``, ``wandb``, ``xgboost``, ``comet``): not built yet, tracked
  in issue 13 (also their 2.x paths ``tunelab.air.integrations.<tracker>`` and
  ``tunelab.logger.<tracker>``, and the search adapters ``tunelab.search.<library>``);
* Ray Core's distributed trainables and cluster syncers (``horovod``, ``torch``,
  ``tensorflow``, ``docker``, ``kubernetes``, ``ray_train``): no counterpart.
"""

from __future__ import annotations

from tunelab.integration._pending import IntegrationNotAvailableError

__all__ = ["IntegrationNotAvailableError"]
