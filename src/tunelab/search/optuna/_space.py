"""The three kinds of OptunaSearch space and how each asks a study for a configuration.

- :class:`TunelabSpace`: a tunelab space converted to Optuna distributions, one flat name per
  searched parameter (``a/b`` for nested keys). Categories that Optuna cannot store (anything
  but unique ``None``/``bool``/``int``/``float``/``str``) are searched by index.
- :class:`DistributionSpace`: a dict of Optuna distributions; ``a/b`` names become nested keys.
- :class:`DefineByRunSpace`: a function ``fn(trial)`` calling ``trial.suggest_*``; it may return
  a dict of constants added to the config. A list of :data:`param` calls (the Ray Tune 1.x
  API) becomes such a function.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from tunelab.search._convert import ParamSpec, build_suggestion, parse_space, point_values
from tunelab.search._resolve import copy_tree

__all__ = ["DefineByRunSpace", "DistributionSpace", "TunelabSpace", "flatten_point", "param"]

_WHERE = "OptunaSearch()"
_PRIMITIVE = (type(None), bool, int, float, str)


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """``{"a/b": 1}`` -> ``{"a": {"b": 1}}``."""
    out: dict[str, Any] = {}
    for name, value in flat.items():
        node = out
        parts = name.split("/")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def flatten_point(point: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a/b": 1}`` (dict values are walked, others kept)."""
    flat: dict[str, Any] = {}
    for key, value in point.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten_point(value, name + "/"))
        else:
            flat[name] = value
    return flat


class TunelabSpace:
    """A tunelab search space as Optuna distributions."""

    def __init__(self, config: Mapping[str, Any], distributions: Any) -> None:
        self.config = copy_tree(dict(config))
        self.specs = parse_space(self.config, _WHERE)
        self.by_name = {spec.name: spec for spec in self.specs}
        self.indexed: set[str] = set()
        self.distributions = {
            spec.name: self._distribution(spec, distributions) for spec in self.specs
        }

    def _distribution(self, spec: ParamSpec, d: Any) -> Any:
        if spec.kind == "categorical":
            choices = spec.categories
            if _storable(choices):
                return d.CategoricalDistribution(choices)
            self.indexed.add(spec.name)
            return d.CategoricalDistribution(list(range(len(choices))))
        if spec.law == "normal":
            raise ValueError(
                f"{_WHERE} cannot search a normal distribution (tune.randn/qrandn) at "
                f"{spec.name!r}: Optuna has no such distribution; use tune.uniform or "
                f"tune.loguniform with bounds"
            )
        log = spec.law == "loguniform"
        if spec.kind == "int":
            step = int(spec.q or 1)
            if log and step > 1:  # Optuna has no log-scaled stepped ints: round afterwards
                return d.FloatDistribution(spec.lower - step / 2, spec.upper + step / 2, log=True)
            return d.IntDistribution(int(spec.lower), int(spec.upper), log=log, step=step)
        if spec.q is not None and not log:
            return d.FloatDistribution(spec.lower, spec.upper, step=spec.q)
        return d.FloatDistribution(spec.lower, spec.upper, log=log)

    def ask(self, study: Any) -> tuple[Any, dict[str, Any]]:
        trial = study.ask(fixed_distributions=self.distributions)
        values = {}
        for spec in self.specs:
            raw = trial.params[spec.name]
            if spec.name in self.indexed:
                values[spec.path] = spec.categories[int(raw)]
            else:
                values[spec.path] = spec.finish(raw)
        return trial, build_suggestion(self.config, values)

    def encode_point(self, point: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        flat, fixed = point_values(point, self.specs, self.config, _WHERE)
        params = {}
        for name, value in flat.items():
            if name in self.indexed:
                value = self.by_name[name].category_index(value)
            params[name] = value
        return params, build_suggestion(self.config, fixed)


def _storable(choices: list[Any]) -> bool:
    if not all(type(c) in _PRIMITIVE for c in choices):
        return False
    keys = [(type(c), c) for c in choices]
    return len(set(keys)) == len(keys) and len({c for c in choices}) == len(choices)


def _eq(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:
        return False


class DistributionSpace:
    """A dict of Optuna distributions (names with ``/`` become nested keys)."""

    def __init__(self, space: Mapping[str, Any]) -> None:
        self.distributions = dict(space)

    def ask(self, study: Any) -> tuple[Any, dict[str, Any]]:
        trial = study.ask(fixed_distributions=self.distributions)
        return trial, nest(trial.params)

    def encode_point(self, point: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        params = flatten_point(point)
        unknown = sorted(set(params) - set(self.distributions))
        if unknown:
            raise ValueError(
                f"`points_to_evaluate` of {_WHERE} sets {unknown}, which are not in the space "
                f"{sorted(self.distributions)}"
            )
        for name, value in params.items():
            if not _in_distribution(self.distributions[name], value):
                raise ValueError(
                    f"`points_to_evaluate` of {_WHERE}: {value!r} is outside the distribution "
                    f"of {name!r} ({self.distributions[name]!r})"
                )
        return params, {}


def _in_distribution(distribution: Any, value: Any) -> bool:
    choices = getattr(distribution, "choices", None)
    if choices is not None:
        return any(value is c or _eq(value, c) for c in choices)
    low, high = getattr(distribution, "low", None), getattr(distribution, "high", None)
    if low is None or high is None or isinstance(value, bool):
        return True
    try:
        return bool(low <= value <= high)
    except TypeError:
        return False


class DefineByRunSpace:
    """``fn(trial)`` suggests the parameters itself; it may return a dict of constants."""

    distributions = None

    def __init__(self, function: Callable[[Any], Any]) -> None:
        self.function = function

    def ask(self, study: Any) -> tuple[Any, dict[str, Any]]:
        trial = study.ask()
        try:
            constants = self.function(trial)
        except BaseException:
            study.tell(trial, state=_failed_state())
            raise
        if constants is not None and not isinstance(constants, dict):
            study.tell(trial, state=_failed_state())
            raise TypeError(
                f"the define-by-run function of {_WHERE} must return None or a dict of "
                f"constants, got {constants!r}"
            )
        config = nest(trial.params)
        for key, value in (constants or {}).items():
            config[key] = copy_tree(value)
        return trial, config

    def encode_point(self, point: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        return flatten_point(point), {}


def _failed_state() -> Any:
    import optuna

    return optuna.trial.TrialState.FAIL


def check_define_by_run(function: Callable[..., Any]) -> None:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return
    try:
        signature.bind(None)
    except TypeError as exc:
        raise TypeError(
            f"a define-by-run `space` of {_WHERE} must take one argument (the Optuna trial), "
            f"got {function!r} with signature {signature}"
        ) from exc


# -- the Ray Tune 1.x list API: space=[param.suggest_uniform("a", 0, 1), ...] ----------------
_RENAMED: dict[
    str, Callable[[tuple[Any, ...], dict[str, Any]], tuple[str, tuple[Any, ...], dict[str, Any]]]
] = {
    "suggest_uniform": lambda a, k: ("suggest_float", a, k),
    "suggest_loguniform": lambda a, k: ("suggest_float", a, {**k, "log": True}),
    "suggest_discrete_uniform": lambda a, k: (
        "suggest_float",
        a[:3],
        {**k, "step": a[3]} if len(a) > 3 else {**k, "step": k.pop("q")},
    ),
}
_METHODS = ("suggest_float", "suggest_int", "suggest_categorical", *_RENAMED)


class _Param:
    """``param.suggest_float("lr", 1e-4, 1e-1, log=True)`` records a call for the 1.x list API."""

    def __getattr__(self, name: str) -> Callable[..., tuple[str, tuple[Any, ...], dict[str, Any]]]:
        if name not in _METHODS:
            raise AttributeError(f"param has no method {name!r}; use one of {list(_METHODS)}")

        def record(*args: Any, **kwargs: Any) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
            return (name, args, kwargs)

        return record


param = _Param()


def list_space_function(calls: list[Any]) -> Callable[[Any], None]:
    """A define-by-run function replaying ``param.suggest_*`` calls."""
    checked = []
    for call in calls:
        if (
            not isinstance(call, tuple)
            or len(call) != 3
            or call[0] not in _METHODS
            or not isinstance(call[1], tuple)
            or not isinstance(call[2], dict)
        ):
            raise TypeError(
                f"a list `space` of {_WHERE} must hold param.suggest_*(...) calls, got {call!r}"
            )
        name, args, kwargs = call
        if name in _RENAMED:
            name, args, kwargs = _RENAMED[name](args, dict(kwargs))
        checked.append((name, args, kwargs))

    def define(trial: Any) -> None:
        for name, args, kwargs in checked:
            getattr(trial, name)(*args, **kwargs)

    return define
