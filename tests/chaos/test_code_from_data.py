"""Data from the network or disk never becomes code (issue 10, points 1 and 8).

- a trial spec from the REST API or a spec file holding ``{"eval": ...}`` is refused (400
  naming the key path; a ValueError naming the file and the key) and nothing is evaluated,
  also when the server's own check is bypassed (the controller resolves it untrusted);
- the same form written in the driver's code still works;
- what resume unpickles (``tuner.pkl``, a searcher's pickled state) is authenticated with
  the user's tunelab key: a changed file is refused and its payload never runs;
- secret files (the key, the server token) never follow a symlink planted at their path.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import pickle
import re
import stat
import sys
import types
from pathlib import Path
from typing import Any

import pytest

import tunelab as tune
from tunelab import _trust
from tunelab._persistence.resume import TUNER_FILE, load_tuner_file, save_tuner_file
from tunelab.execution import InProcessExecutor
from tunelab.search import Searcher
from tunelab.search._resolve import SpacePlan, UntrustedSpecError, find_code, iter_sample
from tunelab.server import TuneClientError, write_token_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from server_helpers import live_experiment, wait_for


@pytest.fixture(autouse=True)
def user_key(tmp_path, monkeypatch):
    """This test's own tunelab key location (never the real user's key)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    path = Path(_trust.key_path())
    assert path.is_relative_to(tmp_path)
    return path


def _marker_expression(marker: Path) -> str:
    return f"__import__('pathlib').Path({str(marker)!r}).touch() or 1"


class _Plant:
    """Unpickling it creates ``path``: the side effect a forged pickle would have."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> Any:
        return (open, (self.path, "w"))


def _forged_pickle_b64(marker: Path) -> str:
    return base64.b64encode(pickle.dumps(_Plant(marker))).decode()


# -- 1. specs from the REST API ------------------------------------------------------------
@pytest.fixture
def live(tmp_path, monkeypatch):
    with live_experiment(tmp_path, monkeypatch, executor=InProcessExecutor(num_cpus=4)) as live:
        wait_for(lambda: len(live.trials()) == 2, message="two trials")
        yield live


SPECS = [
    ({"config": {"lr": {"eval": "EXPR"}}}, "config/lr"),
    ({"config": {"a": {"b": [1, {"eval": "EXPR"}]}}}, "config/a/b/1"),
    ({"config": {"g": {"grid_search": [0.1, {"eval": "EXPR"}]}}}, "config/g/grid_search/1"),
    ({"config": {"x": 1.0}, "num_samples": 1, "run": {"eval": "EXPR"}}, "run"),
]


def test_rest_eval_is_refused_with_the_key_path_and_never_runs(live, tmp_path):
    marker = tmp_path / "evaluated"
    before = set(live.trials())
    for spec, key in SPECS:
        text = json.dumps(spec).replace("EXPR", _marker_expression(marker).replace('"', '\\"'))
        with pytest.raises(TuneClientError) as info:
            live.client.add_trial("live", json.loads(text))
        assert info.value.status == 400, info.value
        assert key in str(info.value)
    # the answer is JSON naming the key (for programs)
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", live.server.port, timeout=10)
    body = json.dumps({"name": "live", "spec": {"config": {"lr": {"eval": "1"}}}})
    conn.request("POST", "/trials", body, {"Authorization": f"Bearer {live.server.token}"})
    response = conn.getresponse()
    answer = json.loads(response.read())
    conn.close()
    assert response.status == 400 and answer["key"] == "config/lr", answer
    assert set(live.trials()) == before  # nothing added
    assert not marker.exists()
    live.finish()
    assert not marker.exists()


def test_the_controller_refuses_eval_even_when_the_server_check_is_bypassed(
    live, tmp_path, monkeypatch
):
    from tunelab.server import _http

    monkeypatch.setattr(_http, "check_trial_spec", lambda spec: None)
    marker = tmp_path / "evaluated"
    spec = {"config": {"x": 1.0, "lr": {"eval": _marker_expression(marker)}}}
    with pytest.raises(TuneClientError) as info:
        live.client.add_trial("live", spec)
    assert info.value.status == 400 and "config/lr" in str(info.value)
    # plain data is still accepted through the same path
    added = live.client.add_trial("live", {"config": {"x": 3.0, "lr": {"grid_search": [1, 2]}}})
    assert len(added["trials"]) == 2
    live.finish()
    assert not marker.exists()


def test_expand_spec_is_untrusted_by_default_and_trusted_on_request(tmp_path):
    from tunelab._core.trial_factory import TrialFactory

    experiment = types.SimpleNamespace(name="e", trainable_name="t")
    factory = TrialFactory([types.SimpleNamespace(experiment=experiment)], None)  # type: ignore[list-item,arg-type]
    marker = tmp_path / "evaluated"
    spec = {"config": {"lr": {"eval": _marker_expression(marker)}}}
    with pytest.raises(UntrustedSpecError) as info:
        factory.expand_spec("e", spec)
    assert info.value.path == "config/lr"
    assert not marker.exists()
    [suggestion] = factory.expand_spec("e", {"config": {"lr": {"eval": "2 * 3"}}}, trusted=True)
    assert suggestion.config == {"lr": 6}


def test_untrusted_plans_find_code_anywhere_and_never_compile_it(tmp_path):
    marker = tmp_path / "evaluated"
    expression = _marker_expression(marker)
    space = {"a": [{"b": {"grid_search": [{"c": {"eval": expression}}]}}]}
    with pytest.raises(UntrustedSpecError, match=r"a/0/b/grid_search/0/c"):
        SpacePlan(space, trusted=False)
    assert [path for path, _ in find_code(space)] == [("a", 0, "b", "grid_search", 0, "c")]
    deep: Any = 1
    for _ in range(5000):  # far deeper than the interpreter could recurse
        deep = [deep]
    assert "nested more than" in find_code(deep)[0][1]
    assert not marker.exists()


# -- 1. spec files ---------------------------------------------------------------------------
def _spec_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "specdir"
    folder.mkdir()
    (folder / "my_trainables.py").write_text(
        "from tunelab import session\ndef train(config):\n    session.report({'score': 1.0})\n"
    )
    return folder


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_spec_file_with_eval_is_a_value_error_naming_file_and_key(tmp_path, suffix):
    from tunelab._frontdoor.cli import main
    from tunelab._frontdoor.cli_commands import load_experiment_specs

    folder = _spec_dir(tmp_path)
    marker = tmp_path / "evaluated"
    spec = {
        "exp": {
            "run": "my_trainables:train",
            "config": {"x": 1, "lr": {"eval": _marker_expression(marker)}},
            "storage_path": str(tmp_path / "out"),
        }
    }
    path = folder / f"spec{suffix}"
    path.write_text(json.dumps(spec))  # JSON is valid YAML
    with pytest.raises(ValueError) as info:
        load_experiment_specs(str(path))
    message = str(info.value)
    assert str(path) in message and "config/lr" in message and "'exp'" in message
    assert main(["run", str(path), "--verbose", "0"]) == 2  # bad input
    assert not marker.exists()
    assert not (tmp_path / "out").exists()  # refused before any trial


def test_spec_file_without_code_still_runs(tmp_path, capsys):
    from tunelab._frontdoor.cli import main

    folder = _spec_dir(tmp_path)
    spec = {
        "exp": {
            "run": "my_trainables:train",
            "config": {"x": {"grid_search": [1, 2]}},
            "storage_path": str(tmp_path / "out"),
        }
    }
    (folder / "spec.json").write_text(json.dumps(spec))
    assert main(["run", str(folder / "spec.json"), "--verbose", "0"]) == 0
    assert "2 trials (2 TERMINATED)" in capsys.readouterr().out


# -- 1. the driver's own code --------------------------------------------------------------
def _report_config(config: dict[str, Any]) -> None:
    tune.report({"score": 1.0, "lr": config["lr"], "twice": config["twice"]})


def test_eval_written_in_the_driver_still_works(tmp_path):
    plan = SpacePlan({"a": 2, "b": {"eval": "spec.config.a * 10"}})
    assert next(iter_sample(plan, __import__("random").Random(0)))[1] == {"a": 2, "b": 20}
    analysis = tune.run(
        _report_config,
        config={"lr": {"eval": "0.5 * 4"}, "twice": {"eval": "spec.config.lr * 2"}},
        storage_path=str(tmp_path),
        name="driver_eval",
        executor=InProcessExecutor(),
        verbose=0,
    )
    [trial] = analysis.trials
    assert trial.config == {"lr": 2.0, "twice": 4.0}


# -- 2. resume unpickles only what it can authenticate -------------------------------------
def _quadratic(config: dict[str, Any]) -> None:
    tune.report({"loss": (config["x"] - 1) ** 2})


def _replace_pickles(experiment: Path, b64: str) -> int:
    """Put ``b64`` in place of every pickled blob of the experiment's state files."""
    pattern = re.compile(r'("format"\s*:\s*"(?:pickle|bytes)"\s*,\s*"data"\s*:\s*")[^"]*(")')
    count = 0
    for name in ("experiment_state.json", "experiment_state.journal"):
        file = experiment / name
        if file.exists():
            text, n = pattern.subn(lambda m: m.group(1) + b64 + m.group(2), file.read_text())
            file.write_text(text)
            count += n
    return count


class _TupleStateSearcher(Searcher):
    """A driver-side searcher whose state JSON cannot hold (so it is pickled)."""

    def __init__(self) -> None:
        super().__init__(metric="loss", mode="min")
        self.count = 0
        self.restored = False

    def suggest(self, trial_id: str) -> dict[str, Any]:
        self.count += 1
        return {"x": float(self.count)}

    def get_state(self) -> dict[str, Any]:
        return {"seen": {(self.count, "x"): self.count}}

    def set_state(self, state: dict[str, Any]) -> None:
        [(count, _)] = state["seen"]
        self.count = count
        self.restored = True


def _run(tmp_path: Path, search_alg: Any, num_samples: int, **kwargs: Any) -> Any:
    return tune.run(
        _quadratic,
        config={"x": tune.uniform(-3, 3)},
        search_alg=search_alg,
        num_samples=num_samples,
        metric="loss",
        mode="min",
        storage_path=str(tmp_path),
        name="resumable",
        executor=InProcessExecutor(),
        verbose=0,
        **kwargs,
    )


def test_signed_searcher_state_resumes(tmp_path, user_key):
    _run(tmp_path, _TupleStateSearcher(), 3)
    assert stat.S_IMODE(user_key.lstat().st_mode) == 0o600
    assert stat.S_IMODE(user_key.parent.lstat().st_mode) == 0o700
    assert not list((tmp_path / "resumable").glob("*key*"))  # no secret in the experiment
    searcher = _TupleStateSearcher()
    analysis = _run(tmp_path, searcher, 5, resume=True)
    assert searcher.restored and len(analysis.trials) == 5
    assert sorted(t.config["x"] for t in analysis.trials) == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_tampered_searcher_state_is_refused_and_never_unpickled(tmp_path, caplog):
    _run(tmp_path, _TupleStateSearcher(), 3)
    marker = tmp_path / "unpickled"
    assert _replace_pickles(tmp_path / "resumable", _forged_pickle_b64(marker)) >= 1
    searcher = _TupleStateSearcher()
    with caplog.at_level(logging.WARNING, logger="tunelab.search"):
        analysis = _run(tmp_path, searcher, 5, resume=True)
    assert not marker.exists()
    assert not searcher.restored
    assert "does not match its signature" in caplog.text
    assert "experiment_state.json" in caplog.text and "starts afresh" in caplog.text
    assert len(analysis.trials) == 5  # the trials (JSON) are restored all the same


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("mode", "cannot be authenticated"),
        ("symlink", "cannot be authenticated"),
        ("missing", "cannot be authenticated"),
        ("other key", "signed with another tunelab key"),
    ],
)
def test_searcher_state_without_a_usable_key_is_not_unpickled(
    tmp_path, caplog, user_key, damage, message
):
    _run(tmp_path, _TupleStateSearcher(), 2)
    marker = tmp_path / "unpickled"
    _replace_pickles(tmp_path / "resumable", _forged_pickle_b64(marker))
    if damage == "mode":
        user_key.chmod(0o644)
    elif damage == "symlink":
        victim = tmp_path / "victim_key"
        victim.write_bytes(user_key.read_bytes())
        victim.chmod(0o600)
        user_key.unlink()
        user_key.symlink_to(victim)
    elif damage == "missing":
        user_key.unlink()
    else:  # e.g. the experiment was written on another machine or by another user
        user_key.unlink()
        _trust.ensure_key()
    searcher = _TupleStateSearcher()
    with caplog.at_level(logging.WARNING):
        analysis = _run(tmp_path, searcher, 3, resume=True)
    assert not marker.exists() and not searcher.restored
    assert message in caplog.text and "starts afresh" in caplog.text
    assert len(analysis.trials) == 3
    # a usable key signs from now on: a regular 0600 file of ours
    assert not user_key.is_symlink()
    assert stat.S_IMODE(user_key.stat().st_mode) == 0o600


def test_tampered_optuna_sampler_is_refused_and_the_trials_are_kept(tmp_path, caplog):
    pytest.importorskip("optuna")
    from tunelab.search.optuna import OptunaSearch

    _run(tmp_path, OptunaSearch(seed=1), 3)
    marker = tmp_path / "unpickled"
    assert _replace_pickles(tmp_path / "resumable", _forged_pickle_b64(marker)) >= 1
    with caplog.at_level(logging.WARNING, logger="tunelab.search"):
        analysis = _run(tmp_path, OptunaSearch(seed=1), 5, resume=True)
    assert not marker.exists()
    assert "Optuna sampler" in caplog.text and "does not match its signature" in caplog.text
    assert len(analysis.trials) == 5


def test_tuner_file_is_signed_and_a_changed_one_is_refused(tmp_path, caplog, user_key):
    experiment = tmp_path / "exp"
    experiment.mkdir()
    save_tuner_file(str(experiment), {"experiments": [], "options": {"a": 1}})
    raw = (experiment / TUNER_FILE).read_bytes()
    assert raw.startswith(b"tunelab-hmac-sha256 ")
    assert load_tuner_file(str(experiment)) == {"experiments": [], "options": {"a": 1}}

    marker = tmp_path / "unpickled"
    header = raw.partition(b"\n")[0]
    forged = pickle.dumps(_Plant(marker))
    (experiment / TUNER_FILE).write_bytes(header + b"\n" + forged)  # changed since signed
    with pytest.raises(_trust.SignatureError) as info:
        load_tuner_file(str(experiment))
    assert str(experiment / TUNER_FILE) in str(info.value)
    assert not marker.exists()

    # what cannot be checked here is not unpickled either, with a warning naming the file
    cases = {
        "carries no signature": forged,
        "signed with another tunelab key": b"tunelab-hmac-sha256 0123456789abcdef "
        + header.split()[-1]
        + b"\n"
        + forged,
    }
    for reason, content in cases.items():
        (experiment / TUNER_FILE).write_bytes(content)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="tunelab"):
            assert load_tuner_file(str(experiment)) is None
        assert reason in caplog.text and TUNER_FILE in caplog.text and "trainable=" in caplog.text
    (experiment / TUNER_FILE).write_bytes(header + b"\n" + forged)
    user_key.unlink()  # no key on this machine
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="tunelab"):
        assert load_tuner_file(str(experiment)) is None
    assert "there is no key file" in caplog.text
    assert not marker.exists()


def test_tuner_restore_refuses_a_changed_tuner_file(tmp_path):
    tuner = tune.Tuner(
        _quadratic,
        param_space={"x": tune.grid_search([1.0, 2.0])},
        tune_config=tune.TuneConfig(metric="loss", mode="min"),
        run_config=tune.RunConfig(name="tuned", storage_path=str(tmp_path), verbose=0),
    )
    assert len(tuner.fit()) == 2
    path = tmp_path / "tuned"
    restored = tune.Tuner.restore(str(path))  # signed by this user: accepted
    assert restored is not None
    marker = tmp_path / "unpickled"
    raw = (path / TUNER_FILE).read_bytes()
    (path / TUNER_FILE).write_bytes(raw.partition(b"\n")[0] + b"\n" + pickle.dumps(_Plant(marker)))
    with pytest.raises(_trust.SignatureError, match=re.escape(str(path / TUNER_FILE))):
        tune.Tuner.restore(str(path))
    assert not marker.exists()


# -- 3. secret files never follow a planted symlink ----------------------------------------
def test_key_file_is_created_exclusively_and_never_through_a_symlink(tmp_path, user_key):
    user_key.parent.mkdir(mode=0o700, parents=True)
    victim = tmp_path / "victim"
    victim.write_text("precious")
    user_key.symlink_to(victim)
    with pytest.raises(_trust.KeyFileError, match="symlink"):
        _trust.load_key()
    experiment = tmp_path / "exp"
    experiment.mkdir()
    save_tuner_file(str(experiment), {"experiments": []})  # needs the key: replaces the link
    assert victim.read_text() == "precious"
    assert not user_key.is_symlink() and stat.S_IMODE(user_key.stat().st_mode) == 0o600
    assert load_tuner_file(str(experiment)) == {"experiments": []}

    user_key.unlink()  # a dangling link: nothing is created through it
    user_key.symlink_to(tmp_path / "created_through_link")
    _trust.ensure_key()
    assert not (tmp_path / "created_through_link").exists()
    assert not user_key.is_symlink()


def test_key_files_of_another_owner_or_kind_are_refused(tmp_path, user_key):
    key = _trust.ensure_key()
    assert _trust.ensure_key() == key  # created once, then reused
    if os.geteuid() == 0:  # only root can give a file away
        os.chown(user_key, 65534, 65534)
        with pytest.raises(_trust.KeyFileError, match="belongs to user id 65534"):
            _trust.load_key()
        os.chown(user_key, 0, 0)
    user_key.parent.chmod(0o777)  # someone else could swap the key
    with pytest.raises(_trust.KeyFileError, match="writable by others"):
        _trust.load_key()
    user_key.parent.chmod(0o700)
    user_key.unlink()
    os.mkfifo(user_key)  # opening must not block
    with pytest.raises(_trust.KeyFileError, match="not a regular file"):
        _trust.load_key()
    user_key.unlink()
    user_key.write_text("not a key\n")
    user_key.chmod(0o600)
    with pytest.raises(_trust.KeyFileError, match="does not hold a key"):
        _trust.load_key()


def test_token_file_never_follows_a_planted_symlink(tmp_path):
    experiment = tmp_path / "exp"
    experiment.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("precious")
    victim.chmod(0o644)
    (experiment / ".tunelab_server_token").symlink_to(victim)
    path = write_token_file(str(experiment), "a-token-of-sixteen-chars")
    assert victim.read_text() == "precious"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644
    token_file = Path(path)
    assert not token_file.is_symlink()
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert token_file.read_text() == "a-token-of-sixteen-chars\n"
    assert not [p for p in experiment.iterdir() if p.name.endswith(".tmp")]


def test_live_server_token_file_replaces_a_planted_symlink(tmp_path, monkeypatch):
    experiment = tmp_path / "planted"
    experiment.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (experiment / ".tunelab_server_token").symlink_to(victim)
    with live_experiment(
        tmp_path, monkeypatch, wiring="with_server", name="planted", executor=InProcessExecutor()
    ) as live:
        token_file = experiment / ".tunelab_server_token"
        assert not token_file.is_symlink()
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert live.client.get_all_trials()["trials"] is not None
        live.finish()
    assert victim.read_text() == "precious"
