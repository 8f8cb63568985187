"""``JsonLoggerCallback``: ``params.json``, ``params.pkl`` and ``result.json`` per trial."""

from __future__ import annotations

import copy
import json
import logging
import os
import pickle
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tunelab._errors import writing
from tunelab._json import json_default, json_safe, make_encoder
from tunelab._persistence.rollback import truncate_result_json
from tunelab.logger._logger_callback import (
    _MAX_BUFFERED_LINES,
    _FileLoggerCallback,
    _LineFile,
    _OpenFiles,
    _TrialLog,
)

if TYPE_CHECKING:
    from tunelab._trial import Trial

__all__ = ["EXPR_PARAM_FILE", "EXPR_PARAM_PICKLE_FILE", "EXPR_RESULT_FILE", "JsonLoggerCallback"]

EXPR_PARAM_FILE = "params.json"
EXPR_PARAM_PICKLE_FILE = "params.pkl"
EXPR_RESULT_FILE = "result.json"

_log = logging.getLogger("tunelab.logger")

# Stand-in for a result's "config" while the rest of the result is encoded; the trial's
# config, encoded once, is spliced in where the stand-in's JSON text appears. The random
# part makes a clash with a user's string practically impossible.
_MARK = "\x00tunelab-config-" + os.urandom(12).hex()
_MARK_JSON = json.dumps(_MARK)
_NOTHING: Any = object()


def _safe_dumps(result: Any) -> str | None:
    try:
        return json.dumps(json_safe(result), default=json_default)
    except (TypeError, ValueError, RecursionError) as exc:
        _log.warning("Could not encode a result as JSON (%s); it is not written", exc)
        return None


#: the exact types whose pickle by reference is the pickle by value (cloudpickle's output)
_PLAIN = frozenset({str, int, float, bool, type(None), bytes})


def _plain(value: Any, depth: int = 0) -> bool:
    """True when ``value`` holds only builtin data (exact dicts with str keys, lists,
    tuples, strings, numbers, bools, None, bytes): :mod:`pickle` then writes what
    cloudpickle would, at C speed, without importing cloudpickle."""
    kind = type(value)
    if kind in _PLAIN:
        return True
    if depth > 50:
        return False
    if kind is dict:
        return all(type(k) is str and _plain(v, depth + 1) for k, v in value.items())
    if kind is list or kind is tuple:
        return all(_plain(v, depth + 1) for v in value)
    return False


def _pickled(config: Any) -> bytes:
    """``config`` pickled by value (functions and classes from ``__main__`` included)."""
    if _plain(config):
        return pickle.dumps(config, protocol=pickle.HIGHEST_PROTOCOL)
    import cloudpickle

    return bytes(cloudpickle.dumps(config))


def write_params(trial_dir: str, config: dict[str, Any], owner: str = "") -> None:
    """Write ``params.json`` (JSON-safe, indent 2, sorted keys) and ``params.pkl``.

    A new file is written in place; an existing one (a config changed by PBT, a restore)
    is replaced atomically (temp file, rename; no fsync: a config is cheap to write
    again), so a failed write leaves the previous file whole and no temp file behind. A
    run killed while writing a new one resumes by restarting the trial, which writes it
    again. A storage failure raises a one-line :class:`~tunelab._errors.StorageError`.
    The directory is made when missing."""
    from tunelab._persistence.experiment_state import write_bytes_new_or_atomic as write

    what = f"the config of {owner or 'the trial in ' + trial_dir}"
    text = json.dumps(json_safe(config), indent=2, sort_keys=True, default=json_default)
    path = os.path.join(trial_dir, EXPR_PARAM_FILE)
    data = text.encode("utf-8", "backslashreplace")
    try:
        write(path, data, what=what)
    except FileNotFoundError:  # no directory yet (a logger used outside fit())
        with writing(f"the directory of {owner or trial_dir}", trial_dir):
            os.makedirs(trial_dir, exist_ok=True)
        write(path, data, what=what)
    try:
        blob = _pickled(config)
    except Exception as exc:
        _log.warning("Could not pickle the config of %s into %s: %s", trial_dir, "params.pkl", exc)
        return
    write(os.path.join(trial_dir, EXPR_PARAM_PICKLE_FILE), blob, what=what)


class _JsonTrialLog(_TrialLog):
    """``result.json`` of one trial: one JSON object per line, the config encoded once."""

    def __init__(
        self,
        trial_dir: str,
        files: _OpenFiles | None,
        encode: Callable[[Any], str],
        owner: str = "",
        *,
        results: bool = True,
    ) -> None:
        self.trial_dir = trial_dir
        self.owner = owner
        what = f"the results of {owner or 'the trial in ' + trial_dir}"
        self.file = _LineFile(os.path.join(trial_dir, EXPR_RESULT_FILE), files, what)
        if results:  # else only params.json/params.pkl (a worker writes result.json)
            self.file.existing_size()
        self._lines = self.file.lines
        self._encode = encode
        self._config: Any = _NOTHING  # private snapshot of the config last encoded
        self._params: Any = _NOTHING  # snapshot of the config in params.json/params.pkl
        self._config_json = ""
        self._cacheable = True
        self._misses = 0

    def start(self, trial: Trial) -> None:
        self.update_config(trial.config)

    def update_config(self, config: dict[str, Any]) -> None:
        if self._params is not _NOTHING and self._same_params(config):
            return  # a restore with the config already written (pause/resume)
        write_params(self.trial_dir, config, self.owner)
        self._cacheable, self._misses = True, 0
        # the snapshot _remember takes is never mutated (write() replaces it): share it
        self._params = self._config if self._remember(config) else _NOTHING

    def _same_params(self, config: dict[str, Any]) -> bool:
        try:
            return bool(self._params == config)
        except Exception:  # values whose == raises or is ambiguous (arrays)
            return False

    def _remember(self, config: dict[str, Any]) -> bool:
        try:
            config_json = self._encode(config)
            snapshot = copy.deepcopy(config)
        except Exception:
            self._config = _NOTHING
            self._cacheable = False  # encode whole results from now on
            return False
        self._config, self._config_json = snapshot, config_json
        return True

    def write(self, result: dict[str, Any]) -> None:
        encode = self._encode
        config = result.get("config", _NOTHING) if type(result) is dict else _NOTHING
        try:
            if type(config) is dict:
                try:
                    same = config == self._config
                except Exception:
                    same = False
                if same:
                    self._misses = 0
                elif self._cacheable:
                    # A config that never compares equal to its copy (objects compared by
                    # identity) would be re-encoded and copied per result: stop caching.
                    self._misses += 1
                    same = self._misses <= 3 and self._remember(config)
                    self._cacheable = same
                if same:
                    result["config"] = _MARK
                    try:
                        text = encode(result)
                    finally:
                        result["config"] = config
                    text = text.replace(_MARK_JSON, self._config_json, 1)
                else:
                    text = encode(result)
            else:
                text = encode(result)
        except (TypeError, ValueError, RecursionError):
            safe = _safe_dumps(result)
            if safe is None:
                return
            text = safe
        lines = self._lines
        lines.append(text + "\n")
        if len(lines) >= _MAX_BUFFERED_LINES:
            self.file.flush()


class JsonLoggerCallback(_FileLoggerCallback[_JsonTrialLog]):
    """Writes each trial's ``params.json``, ``params.pkl`` and ``result.json``.

    On trial start the config goes to ``params.json`` (JSON-safe, indent 2) and
    ``params.pkl`` (cloudpickle). Every result is one line of ``result.json``, equal to
    ``json.dumps(result)`` (values JSON cannot hold are stringified; NaN and infinities are
    written as ``NaN``/``Infinity`` as :mod:`json` does). Lines are buffered in memory and
    written when the controller ends a step (``on_step_end``), on checkpoint, and at trial
    end; files are appended to, so a resumed trial continues its log, and the lines after a
    checkpoint's iteration are cut when a trial reruns from that checkpoint. With the
    :class:`~tunelab.execution.LocalExecutor`, the worker running the trial writes the
    same lines itself, before it sends each batch of results (this logger then keeps
    ``params.json``, ``params.pkl`` and the cut).

    One is part of the default loggers; passing your own instance in ``callbacks``
    replaces the default one. The constructor takes no arguments.
    """

    def __init__(self) -> None:
        super().__init__()
        self._encode = make_encoder()

    _truncate = staticmethod(truncate_result_json)

    def _new_log(self, trial: Trial, trial_dir: str) -> _JsonTrialLog:
        return _JsonTrialLog(
            trial_dir,
            self._files,
            self._encode,
            f"trial {trial}",
            results=not self.results_in_workers,
        )

    def _start_in_worker(self, trial: Trial) -> None:
        log = self._log_for(trial)  # params.json and params.pkl stay with the controller
        if log is not None:
            log.start(trial)

    def log_trial_restore(self, trial: Trial) -> None:
        """Rewrite ``params.json``/``params.pkl`` when the restored trial's config changed
        (a PBT exploit).

        Args:
            trial: The restored trial.
        """
        self.log_trial_start(trial)

    def update_config(self, trial: Trial, config: dict[str, Any]) -> None:
        """Rewrite ``params.json``/``params.pkl`` of ``trial`` (e.g. after a PBT exploit).

        Args:
            trial: The trial whose directory holds the files.
            config: The new config to write.
        """
        log = self._log_for(trial)
        if log is not None:
            log.update_config(config)
