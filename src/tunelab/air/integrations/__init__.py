"""Ray AIR's ``ray.air.integrations`` paths (``comet``, ``keras``, ``mlflow``, ``wandb``).

``keras`` holds :class:`~tunelab.air.integrations.keras.ReportCheckpointCallback` (importing
it imports Keras). The trackers are not built yet (issue 13): those modules import, and
each of their names raises :class:`~tunelab.integration.IntegrationNotAvailableError` (an
``ImportError``) that says so.
"""
