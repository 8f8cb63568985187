"""Ray Tune's ``ray.tune.integration`` paths (``tunelab.integration.<framework>``).

The training-framework callbacks ``keras``, ``pytorch_lightning``, ``xgboost`` and
``lightgbm`` are here (importing one imports its framework: ``pip install
"tunelab[<framework>]"``), the experiment trackers ``mlflow``, ``wandb`` and ``comet`` (their
libraries are imported when a name is used), and ``huggingface`` (transformers'
``Trainer.hyperparameter_search`` on tunelab), which Ray did not have. Every other module Ray
Tune had here imports in tunelab, so that a ported script gets past its import lines and
fails on the one name tunelab does not have, with an :class:`IntegrationNotAvailableError`
(an ``ImportError``) that says why:

* ``mxnet``: Apache MXNet is retired and needs numpy < 2;
* Ray Core's distributed trainables and cluster syncers (``horovod``, ``torch``,
  ``tensorflow``, ``docker``, ``kubernetes``, ``ray_train``): no counterpart.
"""

from __future__ import annotations

from tunelab.integration._pending import IntegrationNotAvailableError

__all__ = ["IntegrationNotAvailableError"]
