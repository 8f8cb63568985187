from __future__ import annotations

import functools
from typing import Any

import pytest

from tunelab import _registry
from tunelab._registry import (
    get_env_creator,
    get_trainable,
    is_registered,
    register_env,
    register_trainable,
    registered_names,
    trainable_name,
)
from tunelab.trainable import Trainable


@pytest.fixture(autouse=True)
def empty_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_registry, "_TRAINABLES", {})
    monkeypatch.setattr(_registry, "_ENV_CREATORS", {})


def train_fn(config: dict[str, Any]) -> None:
    pass


class MyTrainable(Trainable):
    def step(self) -> dict[str, Any]:
        return {}


def test_register_and_get_function_lambda_and_class() -> None:
    register_trainable("fn", train_fn)
    register_trainable("lam", lambda config: None)
    register_trainable("cls", MyTrainable)
    assert get_trainable("fn") is train_fn
    assert get_trainable("cls") is MyTrainable
    assert callable(get_trainable("lam"))
    assert is_registered("fn") and not is_registered("other")
    assert registered_names() == ["cls", "fn", "lam"]


def test_legacy_function_signatures_are_accepted() -> None:
    def with_reporter(config: dict[str, Any], reporter: Any) -> None:
        pass

    def with_checkpoint_dir(config: dict[str, Any], checkpoint_dir: str | None = None) -> None:
        pass

    register_trainable("a", with_reporter)
    register_trainable("b", with_checkpoint_dir)
    register_trainable("c", functools.partial(with_reporter, reporter=None))
    assert registered_names() == ["a", "b", "c"]


def test_unknown_name_lists_registered_names() -> None:
    register_trainable("known", train_fn)
    with pytest.raises(ValueError, match=r"'missing'.*registered names: \['known'\]"):
        get_trainable("missing")


@pytest.mark.parametrize("bad", [42, "train_fn", object()])
def test_register_rejects_non_trainables(bad: Any) -> None:
    with pytest.raises(TypeError, match="register_trainable: trainable must be a function"):
        register_trainable("x", bad)
    assert not is_registered("x")


def test_register_rejects_classes_that_are_not_trainables() -> None:
    class NotTrainable:
        pass

    with pytest.raises(TypeError, match=r"does not subclass tunelab\.Trainable"):
        register_trainable("x", NotTrainable)


def test_register_rejects_function_without_config_parameter() -> None:
    def no_args() -> None:
        pass

    def three_required(a: Any, b: Any, c: Any) -> None:
        pass

    for fn in (no_args, three_required):
        with pytest.raises(TypeError, match="must accept the config as its first positional"):
            register_trainable("x", fn)


@pytest.mark.parametrize("name", ["", None, 3])
def test_register_rejects_bad_names(name: Any) -> None:
    with pytest.raises(TypeError, match="register_trainable: name must be a non-empty str"):
        register_trainable(name, train_fn)


def test_replacing_a_registration_warns_unless_told_not_to() -> None:
    register_trainable("fn", train_fn)
    register_trainable("fn", train_fn)  # same object: silent
    with pytest.warns(UserWarning, match="replacing the trainable registered as 'fn'"):
        register_trainable("fn", MyTrainable)
    assert get_trainable("fn") is MyTrainable
    register_trainable("fn", train_fn, warn=False)
    assert get_trainable("fn") is train_fn


def test_register_env() -> None:
    def creator(env_config: dict[str, Any]) -> str:
        return "env"

    register_env("CartPole", creator)
    assert get_env_creator("CartPole") is creator
    with pytest.raises(TypeError, match="register_env: env_creator must be a function"):
        register_env("bad", "not callable")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="register_env: name must be a non-empty str"):
        register_env("", creator)
    with pytest.raises(ValueError, match=r"'Pong'.*registered names: \['CartPole'\]"):
        get_env_creator("Pong")


def test_trainable_name_rules() -> None:
    class Named(Trainable):
        _name = "PPO"

    assert trainable_name(train_fn) == "train_fn"
    assert trainable_name(lambda config: None) == "lambda"
    assert trainable_name(functools.partial(train_fn)) == "train_fn"
    assert trainable_name(functools.partial(functools.partial(train_fn))) == "train_fn"
    assert trainable_name(MyTrainable) == "MyTrainable"
    assert trainable_name(Named) == "PPO"
    assert trainable_name("registered") == "registered"
    assert trainable_name(object()) == "DEFAULT"


def test_with_parameters_fills_several_parameters_and_reads_as_a_trainable() -> None:
    import inspect

    import tunelab as tune
    from tunelab._registry import check_trainable

    def train(config, data, labels, checkpoint_dir=None):  # type: ignore[no-untyped-def]
        return None

    wrapped = tune.with_parameters(train, data=[1, 2], labels=[0, 1])
    assert list(inspect.signature(wrapped).parameters) == ["config", "checkpoint_dir"]
    assert check_trainable(wrapped, "run") is True
