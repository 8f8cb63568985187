"""``with_parameters`` and ``with_resources``: wrap a trainable without changing it."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from tunelab.trainable._trainable import Trainable

__all__ = ["with_parameters", "with_resources"]


def _is_trainable_class(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, Trainable)


def with_parameters(trainable: Any, **kwargs: Any) -> Any:
    """Pass large objects (a dataset, a model) to a trainable, shipped once per worker.

    Putting a dataset into the config would copy it into every trial's ``params.pkl`` and
    every task; ``with_parameters`` serialises each object once in the driver and
    deserialises it at most once per worker process (also on Dask workers).

    Example::

        data = load_big_dataset()
        tuner = tune.Tuner(tune.with_parameters(train, data=data), param_space=...)

    Args:
        trainable: A function trainable, called as ``trainable(config, **kwargs)``, or a
            :class:`~tunelab.Trainable` subclass, which receives the objects in
            ``setup(config, **kwargs)``.
        **kwargs: The objects to pass, by parameter name. Each must be picklable with
            cloudpickle.

    Returns:
        A wrapped trainable (a function, or a subclass of the same name) to pass on
        instead of ``trainable``; it keeps a resource request from
        :func:`with_resources`.

    Raises:
        ValueError: ``trainable`` is neither a function nor a ``Trainable`` subclass.
    """
    from tunelab.utils import get_pinned_object, pin_in_object_store

    if not (
        _is_trainable_class(trainable) or (callable(trainable) and not isinstance(trainable, type))
    ):
        raise ValueError(
            "with_parameters: trainable must be a function or a tunelab.Trainable subclass, "
            f"got {trainable!r}"
        )
    refs = {name: pin_in_object_store(value) for name, value in kwargs.items()}

    def fetch() -> dict[str, Any]:
        return {name: get_pinned_object(ref) for name, ref in refs.items()}

    if _is_trainable_class(trainable):
        base: type[Trainable] = trainable

        class _WithParameters(base):  # type: ignore[valid-type, misc]
            def _call_setup(self, config: dict[str, Any], kw: dict[str, Any]) -> None:
                super()._call_setup(config, {**kw, **fetch()})

        _WithParameters.__name__ = base.__name__
        _WithParameters.__qualname__ = base.__qualname__
        _WithParameters._name = getattr(base, "_name", None) or base.__name__
        return _WithParameters

    fn: Callable[..., Any] = trainable

    @functools.wraps(fn)
    def inner(config: dict[str, Any], *args: Any, **extra: Any) -> Any:
        return fn(config, *args, **{**fetch(), **extra})

    # its signature is the trainable's without the parameters it fills in, so that
    # f(config, data, labels) wrapped with both reads as f(config)
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        pass
    else:
        inner.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[p for p in signature.parameters.values() if p.name not in kwargs]
        )
    inner._tunelab_fn = getattr(fn, "_tunelab_fn", fn)  # type: ignore[attr-defined]
    previous = getattr(fn, "_tunelab_fetch_params", None)
    if previous is not None:

        def fetch_all() -> dict[str, Any]:
            return {**previous(), **fetch()}

        inner._tunelab_fetch_params = fetch_all  # type: ignore[attr-defined]
    else:
        inner._tunelab_fetch_params = fetch  # type: ignore[attr-defined]
    inner._tunelab_param_names = (  # type: ignore[attr-defined]
        *getattr(fn, "_tunelab_param_names", ()),
        *kwargs,
    )
    if hasattr(fn, "_tunelab_resources"):
        inner._tunelab_resources = fn._tunelab_resources  # type: ignore[attr-defined]
    return inner


def with_resources(trainable: Any, resources: Any) -> Any:
    """Attach a resource request to a trainable (the 2.x spelling of
    ``resources_per_trial``).

    It takes precedence over ``Trainable.default_resource_request``; ``resources_per_trial``
    given to :func:`tunelab.run` takes precedence over both.

    Example::

        tune.Tuner(tune.with_resources(train, {"cpu": 2, "gpu": 0.5}), ...)

    Args:
        trainable: A function trainable or a :class:`~tunelab.Trainable` subclass.
        resources: What each trial needs: a dict such as ``{"cpu": 2, "gpu": 1,
            "accelerator": 1}`` (``CPU``/``GPU`` in either case, ``memory`` in bytes, any
            other key is a custom resource), a :class:`~tunelab.PlacementGroupFactory`, a
            :class:`tunelab.train.ScalingConfig`, or a function ``f(config)`` returning one
            of those (called for each trial).

    Returns:
        A wrapped trainable (a function, or a subclass of the same name) to pass on
        instead of ``trainable``.

    Raises:
        ValueError: ``trainable`` is neither a function nor a ``Trainable`` subclass, or an
            amount is negative or not finite.
        TypeError: ``resources`` is a class or not one of the forms above.
    """
    from tunelab._resources import resources_from_request

    if not callable(resources):
        resources_from_request(resources, argument="with_resources")
    elif isinstance(resources, type):
        raise TypeError(f"with_resources: resources must not be a class, got {resources!r}")
    if _is_trainable_class(trainable):
        base: type[Trainable] = trainable

        class _WithResources(base):  # type: ignore[valid-type, misc]
            _tunelab_resources = resources

        _WithResources.__name__ = base.__name__
        _WithResources.__qualname__ = base.__qualname__
        _WithResources._name = getattr(base, "_name", None) or base.__name__
        return _WithResources
    if not callable(trainable) or isinstance(trainable, type):
        raise ValueError(
            "with_resources: trainable must be a function or a tunelab.Trainable subclass, "
            f"got {trainable!r}"
        )
    fn: Callable[..., Any] = trainable

    @functools.wraps(fn)
    def inner(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    for attr in ("_tunelab_fn", "_tunelab_fetch_params", "_tunelab_param_names"):
        if hasattr(fn, attr):
            setattr(inner, attr, getattr(fn, attr))
    if not hasattr(inner, "_tunelab_fn"):
        inner._tunelab_fn = fn  # type: ignore[attr-defined]
    inner._tunelab_resources = resources  # type: ignore[attr-defined]
    inspect.signature(inner)
    return inner
