"""PBT's policy log: the record of every exploit, and reading it back for a replay.

One *policy line* is a JSON list::

    [target_tag, donor_tag, target_iteration, donor_iteration, donor_config, new_config]

``target_tag``/``donor_tag`` are the trials' original experiment tags,
``target_iteration`` the ``training_iteration`` the exploited trial had reached,
``donor_iteration`` the iteration of the donor checkpoint it continues from,
``donor_config`` the config the donor trained with and ``new_config`` the explored config
the exploited trial continues with.

Files (in the experiment directory, the layout Ray Tune users know):

* ``pbt_global.txt``: every exploit of the experiment, one line each, appended;
* ``pbt_policy_<trial_id>.txt``: the *lineage* of one trial: the donor's lineage followed by
  the trial's own exploit, rewritten whole at each exploit. Replaying it from top to bottom
  (:func:`read_policy`) gives the sequence of configs that produced the trial's model.

The scheduler never opens files itself: it calls a :class:`PolicyLog`. The default,
:class:`FilePolicyLog`, writes next to the trials (their ``experiment_path``); tests pass an
in-memory log.
"""

from __future__ import annotations

import json
import os
from typing import Any

from tunelab._json import json_default, json_safe

__all__ = ["FilePolicyLog", "MemoryPolicyLog", "PolicyLog", "read_policy"]

GLOBAL_FILE = "pbt_global.txt"
POLICY_FILE = "pbt_policy_{}.txt"


class PolicyLog:
    """Where PBT records exploits. ``record`` is called once per exploit with the line and
    the target trial's whole lineage (the line is its last element)."""

    def record(
        self, experiment_path: str, trial_id: str, line: list[Any], lineage: list[list[Any]]
    ) -> None:
        raise NotImplementedError


class FilePolicyLog(PolicyLog):
    """Writes ``pbt_global.txt`` and ``pbt_policy_<trial_id>.txt`` in ``experiment_path``
    (nothing when the trial has no experiment directory)."""

    def record(
        self, experiment_path: str, trial_id: str, line: list[Any], lineage: list[list[Any]]
    ) -> None:
        if not experiment_path:
            return
        os.makedirs(experiment_path, exist_ok=True)
        with open(os.path.join(experiment_path, GLOBAL_FILE), "a", encoding="utf-8") as fh:
            fh.write(_dumps(line) + "\n")
        path = os.path.join(experiment_path, POLICY_FILE.format(trial_id))
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write("".join(_dumps(entry) + "\n" for entry in lineage))
        os.replace(tmp, path)


class MemoryPolicyLog(PolicyLog):
    """Keeps what would be written: ``global_lines`` and ``policies[trial_id]``."""

    def __init__(self) -> None:
        self.global_lines: list[list[Any]] = []
        self.policies: dict[str, list[list[Any]]] = {}

    def record(
        self, experiment_path: str, trial_id: str, line: list[Any], lineage: list[list[Any]]
    ) -> None:
        self.global_lines.append(json_safe(line))
        self.policies[trial_id] = json_safe(lineage)


def _dumps(entry: Any) -> str:
    return json.dumps(json_safe(entry), default=json_default)


def read_policy(path: str) -> tuple[dict[str, Any], list[tuple[int, dict[str, Any]]]]:
    """(initial config, [(iteration, config from then on), ...]) of a policy file.

    The file's last line names the trial replayed; lines are followed backwards from it
    through donor tags (lines of other lineages are skipped), so both files written by
    tunelab and by Ray Tune replay. ``ValueError`` names the file when it cannot be used.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            raw = [line for line in fh.read().splitlines() if line.strip()]
    except OSError as exc:
        raise ValueError(f"policy_file: cannot read {path!r} ({exc})") from exc
    entries = []
    for number, text in enumerate(raw, 1):
        try:
            entry = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"policy_file {path!r}: line {number} is not JSON ({exc})") from exc
        if (
            not isinstance(entry, list)
            or len(entry) != 6
            or not isinstance(entry[4], dict)
            or not isinstance(entry[5], dict)
        ):
            raise ValueError(
                f"policy_file {path!r}: line {number} is not a PBT policy line "
                "[target_tag, donor_tag, target_iteration, donor_iteration, donor_config, "
                f"new_config]: {text[:200]!r}"
            )
        entries.append(entry)
    if not entries:
        raise ValueError(
            f"policy_file {path!r} holds no policy lines (the trial was never "
            "exploited, so there is nothing to replay)"
        )
    chain: list[list[Any]] = []
    expected = entries[-1][0]
    for entry in reversed(entries):
        if entry[0] != expected:
            continue
        chain.append(entry)
        expected = entry[1]
    chain.reverse()
    initial = dict(chain[0][4])
    schedule: list[tuple[int, dict[str, Any]]] = []
    for entry in chain:
        step = entry[3]
        if isinstance(step, bool) or not isinstance(step, int | float):
            raise ValueError(f"policy_file {path!r}: iteration {step!r} is not a number")
        if schedule and step < schedule[-1][0]:
            raise ValueError(
                f"policy_file {path!r}: iterations go backwards ({schedule[-1][0]} then {step})"
            )
        schedule.append((int(step), dict(entry[5])))
    return initial, schedule
