"""Resuming an experiment: parse every generation's ``resume`` spelling, load the trials
of an experiment directory, and keep what ``Tuner.restore`` needs to rebuild the run.

``tuner.pkl`` (cloudpickle: the experiment and the run options) is written at the start of
a run so that ``Tuner.restore(path)`` works without repeating the arguments. It is signed
with the user's tunelab key (:mod:`tunelab._trust`) and unpickled only when the signature
matches: a ``tuner.pkl`` changed after tunelab wrote it raises
:class:`~tunelab._trust.SignatureError` naming it; one that cannot be checked here (no
signature, signed on another machine or by another user, no usable key file) is not
unpickled, with a warning, and ``Tuner.restore`` then needs ``trainable=`` (and
``param_space=``) again.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger("tunelab")

TUNER_FILE = "tuner.pkl"


@dataclass
class ResumePlan:
    """``mode``: "new" (start fresh), "auto" (resume when state exists) or "resume"
    (state must exist); ``policy``: finished/unfinished/errored -> resume|restart|skip."""

    mode: str = "new"
    policy: dict[str, str] = field(
        default_factory=lambda: {"finished": "skip", "unfinished": "resume", "errored": "skip"}
    )


_BASES = {
    "TRUE": "resume",
    "LOCAL": "resume",
    "REMOTE": "resume",
    "PROMPT": "resume",
    "AUTO": "auto",
}
_SUFFIXES = {
    "ERRORED": {"errored": "resume"},
    "RESTART_ERRORED": {"errored": "restart"},
    "ERRORED_ONLY": {"errored": "resume", "unfinished": "skip"},
    "RESTART_ERRORED_ONLY": {"errored": "restart", "unfinished": "skip"},
}


def parse_resume(resume: Any, resume_config: Any = None) -> ResumePlan:
    """Turn ``resume`` (bool or "AUTO", "LOCAL", "ERRORED_ONLY", "AUTO+RESTART_ERRORED", ...)
    and an optional ``ResumeConfig`` into a :class:`ResumePlan`."""
    plan = ResumePlan()
    if resume is None or resume is False:
        if resume_config is None:
            return plan
        resume = True
    if resume is True:
        plan.mode = "resume"
    elif isinstance(resume, str):
        base, *suffixes = resume.upper().split("+")
        if base == "ERRORED_ONLY" and not suffixes:
            base, suffixes = "LOCAL", ["ERRORED_ONLY"]
        if base not in _BASES or any(s not in _SUFFIXES for s in suffixes):
            raise ValueError(
                "resume must be True, False, 'AUTO', 'LOCAL', 'REMOTE', 'PROMPT', 'ERRORED_ONLY' "
                f"or one of those joined with '+' to {sorted(_SUFFIXES)}, got {resume!r}"
            )
        plan.mode = _BASES[base]
        for suffix in suffixes:
            plan.policy.update(_SUFFIXES[suffix])
    else:
        raise TypeError(f"resume must be a bool or a string such as 'AUTO', got {resume!r}")
    if resume_config is not None:
        for group in ("finished", "unfinished", "errored"):
            value = getattr(resume_config, group)
            plan.policy[group] = getattr(value, "value", value)
    return plan


def save_tuner_file(experiment_path: str, payload: dict[str, Any]) -> None:
    """Write ``tuner.pkl`` (signed); objects that cannot be pickled are left out with a
    warning."""
    import cloudpickle

    from tunelab import _trust
    from tunelab._persistence.experiment_state import write_bytes_atomic

    try:
        data = cloudpickle.dumps(payload)
    except Exception as exc:  # e.g. a callback holding a lock
        slim = {k: v for k, v in payload.items() if k == "experiments"}
        logger.warning(
            "tunelab: could not save all run options for Tuner.restore (%s); the trainable "
            "and search space are saved, pass the other options again when restoring",
            exc,
        )
        try:
            data = cloudpickle.dumps(slim)
        except Exception:
            return
    try:
        key = _trust.ensure_key()
    except (OSError, _trust.KeyFileError) as exc:
        logger.warning(
            "tunelab: cannot create the tunelab key file %s (%s); %s is not written, so "
            "Tuner.restore will need trainable= and param_space=",
            _trust.key_path(),
            exc,
            TUNER_FILE,
        )
        return
    content = _trust.signed_content(key, data)
    write_bytes_atomic(os.path.join(experiment_path, TUNER_FILE), content)


def load_tuner_file(experiment_path: str) -> dict[str, Any] | None:
    """The payload of the experiment's ``tuner.pkl``, or None when there is none or it
    cannot be authenticated here (no signature, another user's or machine's key, no usable
    key file: logged as a warning). Raises :class:`tunelab._trust.SignatureError` naming the
    file when it was signed with this user's key and changed since."""
    path = os.path.join(experiment_path, TUNER_FILE)
    if not os.path.exists(path):
        return None
    import pickle

    from tunelab import _trust

    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        key: bytes | None = _trust.load_key()
        why = ""
    except _trust.KeyFileError as exc:
        key, why = None, str(exc)
    try:
        data = _trust.signed_payload(path, raw, key, why)
    except _trust.NotAuthenticatedError as exc:
        logger.warning(
            "tunelab: %s. Pass trainable= (and param_space=) to Tuner.restore to restore the "
            "experiment without it",
            exc,
        )
        return None
    payload: dict[str, Any] = pickle.loads(data)
    return payload


def check_state_version(state: dict[str, Any], experiment_path: str) -> None:
    """Refuse to resume from a state this tunelab cannot read: one written by a newer
    tunelab (a higher ``version``) or with a ``version`` that is not a positive int. A state
    without ``version`` is read as version 1 (every tunelab wrote 1 so far)."""
    from tunelab._persistence.experiment_state import STATE_FILE, STATE_VERSION

    version = state.get("version", 1)
    if isinstance(version, int) and not isinstance(version, bool) and 1 <= version <= STATE_VERSION:
        return
    path = os.path.join(experiment_path, STATE_FILE)
    if isinstance(version, int) and not isinstance(version, bool) and version > STATE_VERSION:
        problem = f"was written by a newer tunelab (state version {version})"
    else:
        problem = f"has an invalid state version {version!r}"
    raise ValueError(
        f"cannot resume from {path}: it {problem}; this tunelab resumes state versions 1 to "
        f"{STATE_VERSION}. Upgrade tunelab, or start a new experiment (resume=False or "
        "another name); ExperimentAnalysis still reads the trials"
    )


def load_trials(experiment: Any) -> tuple[list[Any], dict[str, Any]] | None:
    """(trials, state) of the experiment's directory, or None when it has no state."""
    from tunelab._json import paused_gc
    from tunelab._persistence.experiment_state import load_state
    from tunelab._trial import Trial

    state = load_state(experiment.experiment_path)
    if state is None:
        return None
    check_state_version(state, experiment.experiment_path)
    with paused_gc():  # many acyclic objects: see paused_gc
        trials = [Trial.from_state(t, experiment.experiment_path) for t in state.get("trials", [])]
    for trial in trials:
        trial.experiment_name = experiment.name
    return trials, state
