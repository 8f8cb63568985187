"""The front doors: where a user's call becomes a run.

Holds ``execute`` (the wiring every front door shares, in named steps: earlier state,
policies, executor, runtimes, outputs, the controller), ``run`` (``tune.run`` and
``run_experiments``), ``tuner`` (``Tuner``), ``runtime`` (``init``/``shutdown``/``put``/
``get``), ``cli`` and ``cli_commands`` (the ``tunelab`` command) and ``demo``.

May import anything in the package: this is the top layer. Nothing below it imports it
(``tests/unit/test_layers.py`` checks it); the public paths (``tunelab.run``,
``tunelab.Tuner``, ...) re-export from here.
"""
