"""The trial-run core: the experiment loop and the one owner of trial state.

Holds ``controller`` (the loop, composing the parts below), ``trial_starts`` (asks the
scheduler and the searcher for trials and starts them on the executor), ``events`` (hands
results to callbacks, stoppers and schedulers; their verdicts wait for the flush),
``trial_ends`` (the one place a run ends: complete, fail, pause, requeue, reconfigure,
force-end, end the experiment), ``run_state`` (what those parts share),
``trial_lifecycle`` (every trial's status, checkpoint manager, restore and rollback marks,
pending reconfiguration), ``trial_factory`` (trials and the tasks workers run),
``trial_checkpoints`` (registering, journaling, deleting checkpoints and falling back to an
older one), ``experiment_states`` (the state writers of a run, what their snapshots hold and
which changes are journaled), ``checkpoint_manager`` (retention), ``deadlines`` (when to
force-end which trial: graces, time limits, the book of deadlines), ``loop_warnings``
and ``error_report``.

May import: the foundation modules at the package root (``tunelab._trial``, ``_errors``,
``_resources``, ``_checkpoint``, ``_callback``, ``_json``, ...), the policies
(``tunelab.schedulers``, ``tunelab.search``, ``tunelab.stopper``), ``tunelab.execution``
(the executor interface and the worker protocol), ``tunelab._persistence`` and
``tunelab.progress``. Never the front doors (``tunelab._frontdoor``), the server, the
analysis or the plots: they sit on top of the core. ``tests/unit/test_layers.py`` checks it.
"""
