"""Ray AIR's ``ray.air.integrations`` paths: ``comet``, ``mlflow`` and ``wandb`` (experiment
trackers, each with its extra; see :mod:`tunelab.integration`) and ``keras``."""
