"""``tunelab.init()`` and the other module-level functions of ``import ray`` scripts.

Porting rule: ``import ray`` becomes ``import tunelab as ray``. A Ray script's
``ray.init(...)`` then chooses the default executor of the runs that follow (those given no
``executor=``/``dask_client=``, which still win):

* ``num_cpus``, ``num_gpus``, ``resources={"name": amount}``, ``_memory`` (0.x: ``memory``)
  and ``object_store_memory`` set the totals of the default :class:`LocalExecutor`, so a
  trial that asks for 1 CPU after ``init(num_cpus=2)`` shares two CPUs with the others,
  exactly as under Ray (``object_store_memory`` is reported by :func:`cluster_resources`;
  tunelab has no object store, and no trial request counts it);
* ``local_mode=True`` runs trials in threads of this process (:class:`InProcessExecutor`);
* ``address="tcp://host:port"`` (or ``"host:port"``) connects a ``distributed.Client`` to
  that Dask scheduler and runs trials on its workers (:class:`DaskExecutor`); ``"auto"``
  finds the scheduler in ``DASK_SCHEDULER_ADDRESS``/Dask's ``scheduler-address`` setting or
  uses the default Dask client of this process; ``"local"`` or None runs locally. With no
  address (or ``"auto"``), ``TUNELAB_ADDRESS`` and then Ray's ``RAY_ADDRESS`` give it, as
  ``RAY_ADDRESS`` does for ``ray.init``;
* every other keyword of any Ray generation's ``ray.init`` is accepted with one warning
  naming it; a keyword no ``ray.init`` ever had is a ``TypeError`` (as Ray rejects it).

A second ``init`` raises ``RuntimeError`` (Ray's "Maybe you called ray.init twice by
accident?") unless ``ignore_reinit_error=True``; :func:`shutdown` returns to the defaults and
closes a Dask client that ``init`` opened. :func:`put`/:func:`get` are Ray's object-store
calls as Tune code uses them, on :func:`tunelab.utils.pin_in_object_store`'s mechanism.
"""

from __future__ import annotations

import difflib
import logging
import math
import numbers
import os
import socket
import sys
import threading
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, Literal

from tunelab.utils._serialization import PinnedObjectRef, get_pinned_object, pin_in_object_store

if TYPE_CHECKING:
    from tunelab.execution import Executor

__all__ = [
    "InitContext",
    "ObjectRef",
    "available_resources",
    "cluster_resources",
    "default_executor",
    "get",
    "get_gpu_ids",
    "init",
    "is_initialized",
    "nodes",
    "put",
    "shutdown",
]

logger = logging.getLogger("tunelab")

#: Ray's ``ray.ObjectRef``: what :func:`put` returns
ObjectRef = PinnedObjectRef

#: ``ray.init`` keywords of 0.5 .. 2.x that tunelab accepts and ignores (with a warning)
_IGNORED_KEYWORDS = frozenset(
    (  # noqa: SIM905 (68 names, one word each, grouped by generation)
        # named keywords of 1.x / 2.x
        "include_dashboard dashboard_host dashboard_port job_config configure_logging "
        "logging_level logging_format logging_config log_to_driver namespace runtime_env "
        "storage labels enable_resource_isolation cgroup_path system_reserved_cpu "
        "system_reserved_memory proxy_server_url "
        # hidden keywords of 1.x / 2.x
        "_code_search_path _driver_object_store_memory _enable_object_reconstruction "
        "_java_worker_options _load_code_from_local _lru_evict _metrics_export_port "
        "_node_ip_address _node_name _object_spilling_config _plasma_directory "
        "_redis_max_memory _redis_password _redis_username _skip_env_hook _system_config "
        "_temp_dir _tracing_startup_hook object_spilling_directory "
        # 0.x keywords
        "redis_port driver_object_store_memory redis_max_memory node_ip_address "
        "object_ref_seed object_id_seed redirect_worker_output redirect_output "
        "num_redis_shards redis_max_clients redis_password plasma_directory huge_pages "
        "include_java include_webui webui_host job_id driver_id driver_mode num_workers "
        "plasma_store_socket_name raylet_socket_name temp_dir load_code_from_local "
        "java_worker_options use_pickle use_raylet _internal_config internal_config "
        "lru_evict enable_object_reconstruction "
    ).split()
)

#: keywords with a meaning in tunelab (for the "did you mean" of an unknown keyword)
_USED_KEYWORDS = (
    "address",
    "num_cpus",
    "num_gpus",
    "resources",
    "object_store_memory",
    "local_mode",
    "ignore_reinit_error",
    "_memory",
    "memory",
    "redis_address",
)

_REINIT_MESSAGE = (
    "Maybe you called ray.init twice by accident? tunelab.init() was already called; pass "
    "ignore_reinit_error=True to ignore the second call, or call tunelab.shutdown() before "
    "tunelab.init()."
)


class _Unset:
    """The default of keywords whose absence differs from any value (``logging_level``)."""

    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Any = _Unset()


@dataclass(frozen=True)
class _Runtime:
    """What ``init`` chose: the kind of default executor and its totals."""

    mode: Literal["local", "inprocess", "dask"]
    num_cpus: float | None = None
    num_gpus: int | None = None
    memory: float | None = None
    object_store_memory: float | None = None
    resources: Mapping[str, float] = field(default_factory=dict)
    address: str | None = None
    client: Any = None
    own_client: bool = False


class InitContext(Mapping[str, Any]):
    """What :func:`init` returns (Ray's ``RayContext``; 0.x returned its ``address_info``).

    ``address_info`` (read-only dict: ``address``, ``node_ip_address``, ``webui_url``...)
    is also readable as ``context[key]``; ``dashboard_url`` is the Dask dashboard's link
    when connected to Dask, else None. ``with tunelab.init(...):`` calls :func:`shutdown`
    at the end of the block, as does :meth:`disconnect`.
    """

    __slots__ = ("_address_info", "dashboard_url", "python_version", "tunelab_version")
    _address_info: Mapping[str, Any]
    dashboard_url: str | None
    python_version: str
    tunelab_version: str

    def __init__(self, address_info: Mapping[str, Any], dashboard_url: str | None) -> None:
        from tunelab import __version__

        values = {
            "_address_info": MappingProxyType(dict(address_info)),
            "dashboard_url": dashboard_url,
            "python_version": "{}.{}.{}".format(*sys.version_info[:3]),
            "tunelab_version": __version__,
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"InitContext is read-only; cannot set {name!r}")

    @property
    def address_info(self) -> Mapping[str, Any]:
        return self._address_info

    def __getitem__(self, key: str) -> Any:
        return self._address_info[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._address_info)

    def __len__(self) -> int:
        return len(self._address_info)

    def __repr__(self) -> str:
        return f"InitContext(address_info={dict(self._address_info)!r})"

    def disconnect(self) -> None:
        """Call :func:`shutdown` (Ray's ``RayContext.disconnect``)."""
        shutdown()

    def __enter__(self) -> InitContext:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        shutdown()


_lock = threading.RLock()
_runtime: _Runtime | None = None
_context: InitContext | None = None


# -- argument checks --------------------------------------------------------------------------
def _amount(name: str, value: Any, *, whole: bool = False) -> float | None:
    """``value`` as a float (None stays None); ValueError unless a finite number >= 0."""
    if value is None:
        return None
    return _required_amount(name, value, whole=whole, allowed="None or a finite number >= 0")


def _required_amount(
    name: str, value: Any, *, whole: bool = False, allowed: str = "a finite number >= 0"
) -> float:
    number = math.nan
    if not isinstance(value, bool) and isinstance(value, numbers.Real):
        number = float(value)
    if not (math.isfinite(number) and number >= 0):
        raise ValueError(f"tunelab.init: {name} must be {allowed}, got {value!r}")
    if whole and not number.is_integer():
        raise ValueError(f"tunelab.init: {name} must be a whole number, got {value!r}")
    return number


def _check_resources(resources: Any) -> dict[str, float]:
    if resources is None:
        return {}
    if not isinstance(resources, Mapping):
        raise TypeError(
            f"tunelab.init: resources must be a dict of custom resources such as "
            f"{{'accelerator': 2}}, got {resources!r}"
        )
    out: dict[str, float] = {}
    for key, value in resources.items():
        if not isinstance(key, str):
            raise TypeError(f"tunelab.init: resource names must be strings, got {key!r}")
        if key in ("CPU", "GPU", "memory"):
            keyword = {"CPU": "num_cpus", "GPU": "num_gpus", "memory": "_memory"}[key]
            raise ValueError(
                f"tunelab.init: use the {keyword!r} keyword instead of {key!r} in 'resources', "
                f"got resources={dict(resources)!r}"
            )
        out[key] = _required_amount(f"resources[{key!r}]", value)
    return out


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"tunelab.init: {name} must be True or False, got {value!r}")
    return value


def _sort_keywords(kwargs: Mapping[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """(ignored keywords that were given a value, the remaining tunelab keywords)."""
    ignored: list[str] = []
    used: dict[str, Any] = {}
    for name, value in kwargs.items():
        if name in ("memory", "redis_address"):  # 0.x spellings of _memory / address
            used[name] = value
        elif name in _IGNORED_KEYWORDS:
            if value is not None and value is not _UNSET:
                ignored.append(name)
        else:
            close = difflib.get_close_matches(
                name, [*_USED_KEYWORDS, *sorted(_IGNORED_KEYWORDS)], n=1
            )
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise TypeError(
                f"tunelab.init() got an unexpected keyword argument {name!r}: it is no keyword "
                f"of any generation of ray.init{hint}"
            )
    return ignored, used


# -- the address ------------------------------------------------------------------------------
def _environment_address() -> tuple[str, str] | None:
    """(address, variable) from ``TUNELAB_ADDRESS`` or else ``RAY_ADDRESS``, if set."""
    for variable in ("TUNELAB_ADDRESS", "RAY_ADDRESS"):
        value = os.environ.get(variable, "").strip()
        if value:
            return value, variable
    return None


def _auto_dask_target(source: str) -> tuple[Any, bool]:
    """(scheduler address or existing client, whether init owns a client it opens)."""
    address = os.environ.get("DASK_SCHEDULER_ADDRESS", "").strip()
    if not address:
        import dask

        address = str(dask.config.get("scheduler-address", None) or "").strip()
    if address:
        return address, True
    import distributed

    try:
        return distributed.default_client(), False  # type: ignore[no-untyped-call]
    except ValueError:
        pass
    raise ConnectionError(
        f"tunelab.init: {source}='auto' found no running Dask scheduler: set "
        "DASK_SCHEDULER_ADDRESS (or TUNELAB_ADDRESS) to its address, pass "
        "address='tcp://host:port', create a distributed.Client in this process first, or "
        "leave address unset to run on this machine"
    )


def _connect(address: str, source: str) -> tuple[Any, bool]:
    """A ``distributed.Client`` for ``address`` ('auto' or a scheduler address)."""
    from tunelab._errors import require

    distributed = require("distributed", extra="dask", feature="tunelab.init(address=...)")
    if address == "auto":
        target, own = _auto_dask_target(source)
        if not own:
            return target, False
        address = target
    if address.startswith("ray://"):
        raise ValueError(
            f"tunelab.init: {source}={address!r} is a Ray Client address; tunelab runs trials "
            "on a Dask cluster instead: give its scheduler's address ('tcp://host:8786')"
        )
    try:
        client = distributed.Client(address, set_as_default=False)
    except Exception as exc:
        raise ConnectionError(
            f"tunelab.init: could not connect to the Dask scheduler at {address!r} (from "
            f"{source}): {type(exc).__name__}: {exc}"
        ) from exc
    return client, True


def _resolve_address(address: Any, redis_address: Any) -> tuple[str | None, str]:
    """(address or None for local, where it came from) after the 0.x and environment rules."""
    if address is not None and not isinstance(address, str):
        raise TypeError(
            "tunelab.init: address must be None, 'local', 'auto' or a Dask scheduler address "
            f"such as 'tcp://host:8786', got {address!r}"
        )
    if redis_address is not None:
        if not isinstance(redis_address, str):
            raise TypeError(
                f"tunelab.init: redis_address must be None or an address, got {redis_address!r}"
            )
        if address is not None:
            raise ValueError(
                "tunelab.init: give address (redis_address is its 0.x spelling), not both; got "
                f"address={address!r}, redis_address={redis_address!r}"
            )
        address, source = redis_address, "redis_address"
    else:
        source = "address"
    value = address.strip() if address is not None else None
    if not value or value == "auto":
        found = _environment_address()
        if found is not None:
            value, source = found
    if not value or value == "local":
        return None, source
    return value, source


# -- the public functions ---------------------------------------------------------------------
def init(
    address: str | None = None,
    *,
    num_cpus: float | None = None,
    num_gpus: int | None = None,
    resources: Mapping[str, float] | None = None,
    object_store_memory: float | None = None,
    local_mode: bool = False,
    ignore_reinit_error: bool = False,
    include_dashboard: bool | None = None,
    logging_level: Any = _UNSET,
    log_to_driver: Any = _UNSET,
    namespace: str | None = None,
    runtime_env: Any = None,
    _memory: float | None = None,
    **kwargs: Any,
) -> InitContext:
    """Choose the default executor of the runs that follow, as ``ray.init`` sets up Ray.

    There is no cluster to start: ``init`` only records where the following
    :func:`tunelab.run`/:class:`tunelab.Tuner` runs place their trials when they are given
    no ``executor=``/``dask_client=`` (which still win). Without ``init``, runs use a
    :class:`~tunelab.execution.LocalExecutor` over this machine's CPUs and GPUs. A run
    does not call ``init`` itself.

    Example::

        import tunelab as ray
        ray.init(num_cpus=2)           # at most two 1-CPU trials at once
        ...
        ray.shutdown()

    Args:
        address: Where trials run. ``None`` or ``"local"``: worker processes on this
            machine. ``"tcp://host:port"`` or ``"host:port"``: the Dask scheduler at that
            address (a ``distributed.Client`` is opened; needs ``tunelab[dask]``).
            ``"auto"``: the scheduler named by ``DASK_SCHEDULER_ADDRESS`` or Dask's
            ``scheduler-address`` setting, else the default ``distributed.Client`` of this
            process. When ``address`` is ``None`` or ``"auto"``, ``TUNELAB_ADDRESS`` and
            then ``RAY_ADDRESS`` are read first. Ray Client addresses (``ray://``) are
            refused. The 0.x keyword ``redis_address`` is accepted as its alias.
        num_cpus: Total CPUs the local executor hands out (default: ``os.cpu_count()``).
            With 1-CPU trials this is how many run at once.
        num_gpus: Total GPUs, a whole number (default: the GPUs detected through
            ``CUDA_VISIBLE_DEVICES`` or ``nvidia-smi``). More than detected gives made-up
            device ids ``"0"``, ``"1"``... (bookkeeping only).
        resources: Custom resource totals, e.g. ``{"accelerator": 2}``; trials ask for
            them in their resource request. ``CPU``, ``GPU`` and ``memory`` are refused
            here (use the keywords).
        object_store_memory: Recorded and reported by :func:`cluster_resources`; limits
            nothing (tunelab has no object store).
        local_mode: True runs trials in threads of this process
            (:class:`~tunelab.execution.InProcessExecutor`): quick, for debugging; no
            ``CUDA_VISIBLE_DEVICES`` isolation.
        ignore_reinit_error: True makes a second ``init`` (before :func:`shutdown`) return
            the first call's context and change nothing, instead of raising.
        include_dashboard: Ray keyword, accepted with a warning and ignored (tunelab's
            dashboard is ``RunConfig(server_port=...)``/``tunelab dashboard``).
        logging_level: Ray keyword, accepted with a warning and ignored.
        log_to_driver: Ray keyword, accepted with a warning and ignored.
        namespace: Ray keyword, accepted with a warning and ignored.
        runtime_env: Ray keyword, accepted with a warning and ignored (install what
            trials need in the environment of the workers).
        _memory: Total memory in bytes that trials may request (default: the machine's
            physical memory); 0.x spelled it ``memory``.
        **kwargs: Any other keyword some Ray version's ``ray.init`` took (accepted with
            one warning naming it), and the 0.x ``redis_address``/``memory``.

    Returns:
        An :class:`InitContext` (Ray's ``RayContext``): ``context["address"]``,
        ``context.dashboard_url`` (the Dask dashboard, if any); ``with tunelab.init():``
        calls :func:`shutdown` at the end of the block.

    Raises:
        RuntimeError: ``init`` was already called (and not shut down) and
            ``ignore_reinit_error`` is False.
        TypeError: A keyword no ``ray.init`` ever had, or a value of the wrong type.
        ValueError: A negative or non-finite amount, a fractional ``num_gpus``, or resource
            totals or ``local_mode`` given together with a Dask address (the Dask workers
            declare their own resources).
        ConnectionError: The Dask scheduler cannot be reached, or ``"auto"`` found none.
    """
    ignored, legacy = _sort_keywords(
        {
            "include_dashboard": include_dashboard,
            "logging_level": logging_level,
            "log_to_driver": log_to_driver,
            "namespace": namespace,
            "runtime_env": runtime_env,
            **kwargs,
        }
    )
    if _memory is not None and legacy.get("memory") is not None:
        raise ValueError(
            "tunelab.init: give _memory (memory is its 0.x spelling), not both; got "
            f"_memory={_memory!r}, memory={legacy['memory']!r}"
        )
    cpus = _amount("num_cpus", num_cpus)
    gpus = _amount("num_gpus", num_gpus, whole=True)
    if _memory is not None:
        memory = _amount("_memory", _memory)
    else:
        memory = _amount("memory", legacy.get("memory"))
    store = _amount("object_store_memory", object_store_memory)
    custom = _check_resources(resources)
    _check_bool("local_mode", local_mode)
    _check_bool("ignore_reinit_error", ignore_reinit_error)
    global _runtime, _context
    with _lock:
        if _runtime is not None:
            if ignore_reinit_error:
                logger.info("tunelab.init() was called again; the first call's settings stay")
                return _context if _context is not None else _make_context(_runtime)
            raise RuntimeError(_REINIT_MESSAGE)
        if ignored:
            names = ", ".join(ignored)
            verb = "has" if len(ignored) == 1 else "have"
            warnings.warn(
                f"tunelab.init: {names} {verb} no effect in tunelab; ignored",
                stacklevel=2,
            )
        target, source = _resolve_address(address, legacy.get("redis_address"))
        if target is not None:
            given = [
                name
                for name, value in (
                    ("num_cpus", cpus),
                    ("num_gpus", gpus),
                    ("resources", resources),
                    ("object_store_memory", store),
                    ("_memory", memory),
                )
                if value is not None
            ]
            if local_mode:
                given.insert(0, "local_mode=True")
            if given:
                raise ValueError(
                    f"tunelab.init: {', '.join(given)} cannot be given with the Dask address "
                    f"{target!r} (from {source}): the cluster's workers declare their own "
                    "resources (dask worker --nthreads/--resources); local_mode runs trials "
                    "in this process"
                )
            client, own = _connect(target, source)
            runtime = _Runtime(
                mode="dask", address=str(client.scheduler.address), client=client, own_client=own
            )
        else:
            runtime = _Runtime(
                mode="inprocess" if local_mode else "local",
                num_cpus=cpus,
                num_gpus=None if gpus is None else int(gpus),
                memory=memory,
                object_store_memory=store,
                resources=MappingProxyType(custom),
            )
        _runtime = runtime
        _context = _make_context(runtime)
        return _context


def _make_context(runtime: _Runtime) -> InitContext:
    if runtime.mode == "dask":
        link = getattr(runtime.client, "dashboard_link", None)
        host = runtime.address.split("://", 1)[-1].rsplit(":", 1)[0] if runtime.address else ""
        info = {"address": runtime.address, "node_ip_address": host, "webui_url": link}
        return InitContext(info, link)
    mode = "local_mode" if runtime.mode == "inprocess" else "local"
    info = {"address": mode, "node_ip_address": "127.0.0.1", "webui_url": None}
    return InitContext(info, None)


def shutdown(_exiting_interpreter: bool = False) -> None:
    """Forget what :func:`init` chose and close the Dask client it opened.

    Runs that follow use the default executor again. Does nothing when tunelab is not
    initialized. A client passed in from outside (``address="auto"`` finding this
    process's default client) is left open.

    Args:
        _exiting_interpreter: Ray's internal flag; ignored.
    """
    global _runtime, _context
    with _lock:
        runtime, _runtime, _context = _runtime, None, None
    if runtime is not None and runtime.own_client:
        try:
            runtime.client.close()
        except Exception as exc:  # the scheduler may already be gone
            logger.warning("tunelab.shutdown: closing the Dask client failed: %s", exc)


def is_initialized() -> bool:
    """Whether :func:`init` was called (and :func:`shutdown` not since).

    Returns:
        True between :func:`init` and :func:`shutdown`. A run does not call :func:`init`,
        so this stays False after a run without one.
    """
    return _runtime is not None


def default_executor() -> Executor:
    """A new executor for a run given no ``executor=``/``dask_client=``: what :func:`init`
    chose, or a :class:`LocalExecutor` over this machine when it was not called."""
    from tunelab.execution import InProcessExecutor, LocalExecutor

    runtime = _runtime
    if runtime is None:
        return LocalExecutor()
    if runtime.mode == "dask":
        from tunelab.execution.dask import DaskExecutor

        return DaskExecutor(runtime.client)
    custom = dict(runtime.resources)
    if runtime.object_store_memory is not None:
        custom["object_store_memory"] = runtime.object_store_memory
    if runtime.mode == "inprocess":
        from tunelab.execution._resource_pool import detect_gpus

        return InProcessExecutor(
            num_cpus=runtime.num_cpus if runtime.num_cpus is not None else os.cpu_count() or 1,
            num_gpus=runtime.num_gpus if runtime.num_gpus is not None else len(detect_gpus()),
            resources=custom,
            **({"memory": runtime.memory} if runtime.memory is not None else {}),
        )
    return LocalExecutor(
        num_cpus=runtime.num_cpus,
        num_gpus=runtime.num_gpus,
        memory=runtime.memory,
        resources=custom,
    )


def _dask_nodes(client: Any) -> list[Any]:
    import time

    from tunelab.execution._dask_nodes import ClusterView

    view = ClusterView()
    view.update(dict(client.scheduler_info().get("workers") or {}), time.monotonic())
    return list(view.nodes.values())


def cluster_resources() -> dict[str, float]:
    """The resource totals the next run gets by default.

    Returns:
        ``{"CPU": .., "GPU": .., "memory": .., <custom>: ..}``: what :func:`init` set, else
        this machine's; on Dask, summed over the workers the scheduler lists now (a
        worker's threads stand in for ``CPU`` unless it declares ``CPU``).
    """
    runtime = _runtime
    if runtime is not None and runtime.mode == "dask":
        total: dict[str, float] = {"CPU": 0.0, "GPU": 0.0}
        for node in _dask_nodes(runtime.client):
            for key, value in node.totals().items():
                total[key] = total.get(key, 0.0) + value
        return total
    return dict(default_executor().total_resources())


def available_resources() -> dict[str, float]:
    """The resources free now: the same as :func:`cluster_resources`.

    Between runs tunelab holds no resources (a run takes them when it starts its trials
    and gives them back when it returns), and there is no other tenant.

    Returns:
        The same dict as :func:`cluster_resources`.
    """
    return cluster_resources()


def nodes() -> list[dict[str, Any]]:
    """The machines runs use, in the shape of Ray's ``ray.nodes()``.

    Returns:
        One dict per machine (per Dask worker when :func:`init` connected to Dask; else one
        for this machine) with ``NodeID``, ``Alive``, ``NodeManagerAddress``,
        ``NodeManagerHostname`` and ``Resources``.
    """
    runtime = _runtime
    if runtime is not None and runtime.mode == "dask":
        out = []
        for node in _dask_nodes(runtime.client):
            host = node.address.split("://", 1)[-1].rsplit(":", 1)[0]
            out.append(
                {
                    "NodeID": node.address,
                    "Alive": node.status == "running",
                    "NodeManagerAddress": host,
                    "NodeManagerHostname": node.name,
                    "Resources": node.totals(),
                }
            )
        return out
    return [
        {
            "NodeID": "local",
            "Alive": True,
            "NodeManagerAddress": "127.0.0.1",
            "NodeManagerHostname": socket.gethostname(),
            "Resources": cluster_resources(),
        }
    ]


def get_gpu_ids() -> list[str]:
    """The GPUs of the trial that calls it.

    Worker processes see exactly their trial's GPUs in ``CUDA_VISIBLE_DEVICES`` (the Local
    and Dask executors set it), and these are the ids returned; a trial running in this
    process (``local_mode=True``) sees every GPU of the process, as under Ray's local mode.
    Inside the trial, frameworks number the visible devices from 0 (``cuda:0`` is the
    first id returned).

    Returns:
        The ids as strings, as the newest Ray returns the ids it reads from
        ``CUDA_VISIBLE_DEVICES`` (older Ray returned ints): ``int(ids[0])`` gives an index,
        and a UUID stays usable. ``[]`` outside a trial and in a trial that asked for no
        GPU.
    """
    from tunelab import _session

    session = _session._get_session()
    if session is None:
        return []
    if session.context.get_trial_resources().required_resources.get("GPU", 0.0) <= 0:
        return []
    from tunelab.execution._resource_pool import detect_gpus

    return detect_gpus()


def put(value: Any) -> PinnedObjectRef:
    """Ray's ``ray.put``: keep ``value`` in the driver and return a small reference to it.

    The reference is picklable: put it in a config or pass it through
    :func:`tunelab.with_parameters`, and :func:`get` resolves it in the driver and in every
    worker (``value`` is serialized once and unpickled at most once per worker process;
    ``pin_in_object_store``'s mechanism).

    Args:
        value: Any object picklable with cloudpickle.

    Returns:
        An :data:`ObjectRef` for :func:`get`.

    Raises:
        TypeError: ``value`` is itself a reference (put a list holding it to nest it).
    """
    if isinstance(value, PinnedObjectRef):
        raise TypeError(
            "tunelab.put: value is already an object reference (from tunelab.put or "
            f"pin_in_object_store), got {value!r}; put a list holding it to nest it"
        )
    return pin_in_object_store(value)


def get(object_refs: Any, *, timeout: float | None = None) -> Any:
    """Ray's ``ray.get``: the value behind a reference from :func:`put`.

    Args:
        object_refs: A reference from :func:`put` (or ``pin_in_object_store``), or a list
            of them.
        timeout: Accepted for Ray's signature (``None`` or seconds); values are always
            ready in tunelab.

    Returns:
        The value, or a list of values for a list of references.

    Raises:
        ValueError: ``object_refs`` is neither a reference nor a list, as Ray raises.
        TypeError: A list holds something other than references, or ``timeout`` is not a
            number.
    """
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, numbers.Real)):
        raise TypeError(f"tunelab.get: timeout must be None or seconds, got {timeout!r}")
    if isinstance(object_refs, PinnedObjectRef):
        return get_pinned_object(object_refs)
    if isinstance(object_refs, list):
        for ref in object_refs:
            if not isinstance(ref, PinnedObjectRef):
                raise TypeError(
                    f"tunelab.get: object_refs holds {ref!r} ({type(ref).__name__}), which is "
                    "not an object reference from tunelab.put()"
                )
        return [get_pinned_object(ref) for ref in object_refs]
    raise ValueError(
        f"tunelab.get: object_refs must be an object reference from tunelab.put() or a list "
        f"of them, got {type(object_refs).__name__}: {object_refs!r}"
    )
