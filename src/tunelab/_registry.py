"""The trainable registry: names for trainables and environment creators.

``register_trainable("my_fn", fn)`` lets a front door accept ``run="my_fn"``. The registry
is a plain dict local to the driver process: the front door resolves a name to the object
(:func:`get_trainable`) before trials start and ships that object to the workers, so workers
never look names up.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any

__all__ = [
    "get_env_creator",
    "get_trainable",
    "is_registered",
    "register_env",
    "register_trainable",
    "registered_names",
    "trainable_name",
]

_TRAINABLES: dict[str, object] = {}
_ENV_CREATORS: dict[str, Callable[..., Any]] = {}


def _check_name(name: Any, function: str) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"{function}: name must be a non-empty str, got {name!r}")
    return name


def trainable_base() -> type:
    """The ``Trainable`` base class (imported on use: it lives in the trainable layer)."""
    from tunelab.trainable import Trainable

    return Trainable


def check_trainable(trainable: Any, argument: str) -> bool:
    """Validate a trainable object; return True for a function trainable, False for a class.

    A class must subclass ``tunelab.trainable.Trainable``. A function (lambda,
    ``functools.partial`` or any non-class callable) must accept the config as its first
    positional argument: ``f(config)``, ``f(config, checkpoint_dir=None)`` or the 0.x
    ``f(config, reporter)``.
    """
    if isinstance(trainable, type):
        base = trainable_base()
        if not issubclass(trainable, base):
            raise TypeError(
                f"{argument} must be a function, a subclass of tunelab.Trainable or a "
                f"registered name; got the class {trainable!r}, which does not subclass "
                f"tunelab.Trainable"
            )
        return False
    if not callable(trainable):
        raise TypeError(
            f"{argument} must be a function, a subclass of tunelab.Trainable or a "
            f"registered name, got {trainable!r}"
        )
    try:
        signature = inspect.signature(trainable)
    except (TypeError, ValueError):
        return True
    for count in (1, 2):
        try:
            signature.bind(*range(count))
        except TypeError:
            continue
        return True
    raise TypeError(
        f"{argument}: a function trainable must accept the config as its first positional "
        f"argument (f(config), f(config, checkpoint_dir=None) or f(config, reporter)); "
        f"got {trainable!r} with signature {signature}"
    )


def register_trainable(name: str, trainable: Any, warn: bool = True) -> None:
    """Give a trainable a name that the front doors accept in its place.

    After ``register_trainable("my_fn", fn)``, ``tune.run("my_fn")``, ``Tuner("my_fn")``
    and a ``run_experiments`` spec ``{"run": "my_fn"}`` run ``fn``, and trial names start
    with ``my_fn``. The registry lives in the driver process only: the front door looks the
    name up before the trials start and sends the object itself to the workers.
    Registering another object under a name already taken replaces it.

    Example::

        tune.register_trainable("quadratic", lambda config: {"loss": config["x"] ** 2})
        tune.run("quadratic", config={"x": tune.uniform(-1, 1)}, num_samples=4)

    Args:
        name: The name, a non-empty str.
        trainable: A function trainable (``f(config)``, ``f(config, checkpoint_dir=None)``
            or ``f(config, reporter)``; lambdas and ``functools.partial`` objects too) or
            a :class:`~tunelab.Trainable` subclass.
        warn: Whether replacing another object registered under ``name`` emits a
            ``UserWarning`` (re-registering the same object never does). Default True.

    Raises:
        TypeError: ``name`` is not a non-empty str, or ``trainable`` is not a function
            that accepts a config nor a ``Trainable`` subclass.
    """
    _check_name(name, "register_trainable")
    check_trainable(trainable, "register_trainable: trainable")
    previous = _TRAINABLES.get(name)
    if warn and previous is not None and previous is not trainable:
        warnings.warn(
            f"register_trainable: replacing the trainable registered as {name!r} "
            f"({previous!r}) with {trainable!r}",
            UserWarning,
            stacklevel=2,
        )
    _TRAINABLES[name] = trainable


def register_env(name: str, env_creator: Callable[..., Any]) -> None:
    """Register an environment creator under ``name`` (Ray's ``register_env``).

    Kept so that scripts that register RL environments run unchanged. tunelab has no RLlib,
    so nothing in tunelab looks these names up: a trainable that needs the environment
    creates it itself.

    Args:
        name: The name, a non-empty str.
        env_creator: A function ``env_creator(env_config) -> env``.

    Raises:
        TypeError: ``name`` is not a non-empty str, or ``env_creator`` is not callable.
    """
    _check_name(name, "register_env")
    if not callable(env_creator):
        raise TypeError(
            f"register_env: env_creator must be a function(env_config) -> env, got {env_creator!r}"
        )
    _ENV_CREATORS[name] = env_creator


def registered_names() -> list[str]:
    """The names of all registered trainables, sorted."""
    return sorted(_TRAINABLES)


def is_registered(name: str) -> bool:
    """Whether a trainable is registered under ``name``."""
    return isinstance(name, str) and name in _TRAINABLES


def get_trainable(name: str) -> object:
    """The trainable registered under ``name``; ValueError listing the registered names."""
    try:
        return _TRAINABLES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"no trainable is registered under the name {name!r}; registered names: "
            f"{registered_names()} (register one with tunelab.register_trainable(name, "
            f"trainable))"
        ) from None


def get_env_creator(name: str) -> Callable[..., Any]:
    """The environment creator registered under ``name``; ValueError listing known names."""
    try:
        return _ENV_CREATORS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"no environment is registered under the name {name!r}; registered names: "
            f"{sorted(_ENV_CREATORS)}"
        ) from None


def trainable_name(obj: Any) -> str:
    """The display name of a trainable, used in experiment and trial names.

    A registered name (str) is itself; a class: its ``_name`` attribute when it is a
    non-empty str, else ``__name__``; a function: ``__name__`` (``"lambda"`` for lambdas);
    ``functools.partial``: the wrapped function's name; anything else: ``"DEFAULT"``.
    """
    if isinstance(obj, str):
        return obj or "DEFAULT"
    if isinstance(obj, functools.partial):
        return trainable_name(obj.func)
    custom = getattr(obj, "_name", None)
    if isinstance(custom, str) and custom:
        return custom
    name = getattr(obj, "__name__", None)
    if isinstance(name, str) and name:
        return "lambda" if name == "<lambda>" else name
    return "DEFAULT"
