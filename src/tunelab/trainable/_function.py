"""Function trainables: how tunelab calls ``f(config)``, ``f(config, reporter)`` and
``f(config, checkpoint_dir=None)``, and what it does with what they return or yield."""

from __future__ import annotations

import inspect
import numbers
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from tunelab import _session

__all__ = ["call_function_trainable", "function_call_style", "validate_function_trainable"]


def _target(fn: Any) -> Any:
    return getattr(fn, "_tunelab_fn", fn)


#: function -> its call style (a worker runs the same function for trial after trial, and
#: reading a signature costs tens of microseconds)
_STYLES: weakref.WeakKeyDictionary[Any, tuple[bool, bool]] = weakref.WeakKeyDictionary()


def function_call_style(fn: Callable[..., Any]) -> tuple[bool, bool]:
    """(passes_reporter, passes_checkpoint_dir) for ``fn``'s signature."""
    try:
        return _STYLES[fn]
    except (KeyError, TypeError):  # not seen yet, or not weakly referable
        pass
    style = _call_style(fn)
    try:
        _STYLES[fn] = style
    except TypeError:  # neither weakly referable nor hashable: worked out every time
        pass
    return style


def _call_style(fn: Callable[..., Any]) -> tuple[bool, bool]:
    target = _target(fn)
    try:
        params = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):
        return False, False
    names = {p.name for p in params}
    supplied = {"checkpoint_dir", *getattr(fn, "_tunelab_param_names", ())}
    positional = [
        p
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name not in supplied
    ]
    passes_reporter = len(positional) >= 2 and (
        positional[1].name == "reporter" or positional[1].default is inspect.Parameter.empty
    )
    return passes_reporter, "checkpoint_dir" in names


def validate_function_trainable(fn: Callable[..., Any], *, argument: str = "trainable") -> None:
    """TypeError unless ``fn`` can be called as ``fn(config)`` (plus the legacy forms)."""
    target = _target(fn)
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return
    passes_reporter, passes_ckpt = function_call_style(fn)
    extra = set(getattr(fn, "_tunelab_param_names", ()))
    args: list[Any] = [{}]
    kwargs: dict[str, Any] = {name: None for name in extra}
    if passes_reporter:
        args.append(None)
    if passes_ckpt:
        kwargs["checkpoint_dir"] = None
    try:
        sig.bind(*args, **kwargs)
    except TypeError as exc:
        raise TypeError(
            f"{argument}: a function trainable must accept the config as its one required "
            f"positional argument (optionally `reporter` or `checkpoint_dir=None`); "
            f"{getattr(target, '__name__', target)!r} has signature {sig}: {exc}"
        ) from None


def _report_returned(value: Any) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        _session.report(dict(value))
    elif isinstance(value, numbers.Number) and not isinstance(value, bool):
        _session.report({"_metric": value})
    else:
        raise TypeError(
            "a function trainable may return or yield a dict of metrics or a number, "
            f"got {type(value).__name__}: {_session._safe_repr(value)}"
        )


def _takes_keyword(fn: Any, name: str, positional: int, given: Mapping[str, Any]) -> bool:
    """Whether ``fn`` has a parameter ``name`` that the call does not fill already."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    for index, param in enumerate(params):
        if param.name == name and name not in given:
            if param.kind == param.KEYWORD_ONLY:
                return True
            return param.kind == param.POSITIONAL_OR_KEYWORD and index >= positional
    return False


def call_function_trainable(
    fn: Callable[..., Any], config: dict[str, Any], checkpoint_path: str | None = None
) -> None:
    """Run ``fn`` to completion inside the current session."""
    passes_reporter, passes_ckpt = function_call_style(fn)
    extra: dict[str, Any] = {}
    fetch = getattr(fn, "_tunelab_fetch_params", None)
    if fetch is not None:
        extra.update(fetch())
    target = _target(fn)
    args: list[Any] = [config]
    if passes_reporter:
        args.append(_session.StatusReporter())
    if passes_ckpt:
        extra["checkpoint_dir"] = checkpoint_path
    if checkpoint_path and _takes_keyword(target, "checkpoint", len(args), extra):
        from tunelab._session_legacy import saved_checkpoint_path

        saved = saved_checkpoint_path(checkpoint_path)  # 0.8.6: f(config, checkpoint=None)
        if saved is not None:
            extra["checkpoint"] = saved
    returned = target(*args, **extra)
    if inspect.isgenerator(returned):
        for item in returned:
            _report_returned(item)
    else:
        _report_returned(returned)
