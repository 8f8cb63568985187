"""Ray AIR's ``ray.air.integrations`` paths (``comet``, ``keras``, ``mlflow``, ``wandb``).

Not built yet (issue 13): the modules import, and each of their names raises
:class:`~tunelab.integration.IntegrationNotAvailableError` (an ``ImportError``) that says so.
"""
