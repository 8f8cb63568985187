"""What an experiment leaves on disk, below the loop: the experiment state (an atomic
snapshot plus an append-only journal, ``experiment_state`` and ``state_delta``), resume
plans and the state-version check (``resume``), and cutting result files back to an
iteration (``rollback``, used by the loggers).

May import: the foundation modules at the package root only (``tunelab._trial``,
``_errors``, ``_json``, ``_trust``, ``_storage``, ...). Never the core, the executors, the
front doors or the outputs. ``tests/unit/test_layers.py`` checks it.
"""
