"""Property-based fuzzing of the REST API (issue 10, the chaos suite).

A real server around a real running experiment receives generated requests: random and
unknown methods, paths with traversal and odd percent-encodings, query strings, JSON bodies
of any shape (deeply nested, huge numbers, NaN, ``{"eval": ...}`` and ``sample_from``
forms), right, wrong and missing tokens. Whatever arrives, the server never answers 5xx,
never hangs (every request has a client timeout), never evaluates code (an ``eval``
payload would create a marker file), and the experiment still finishes.

The fast test sends a few hundred requests; ``benchmarks/soak_rest.py`` reuses
:func:`serve_experiment`, :func:`requests` and :func:`send` for thousands.
"""

from __future__ import annotations

import collections
import contextlib
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tunelab as tune
from tunelab.execution import InProcessExecutor
from tunelab.server import read_address, read_token

TIMEOUT_S = 10.0
EXPERIMENT = "fuzzed"


# -- the experiment under test ---------------------------------------------------------------
def steady(config: dict[str, Any]) -> None:
    """Reports every 5 ms; runs until stopped when ``config["endless"] is True``, else 20
    times. Reads nothing else from its config, so no fuzzed value can make it hang."""
    endless = config.get("endless") is True
    for i in range(100_000 if endless else 20):
        tune.report({"loss": 1.0 / (i + 1)})
        time.sleep(0.005)


@dataclass
class Served:
    """A running experiment with its server: where to send requests, and what happened."""

    host: str
    port: int
    token: str
    path: Path
    marker: Path
    thread: threading.Thread
    outcome: dict[str, Any]
    victim: str = ""
    counts: collections.Counter[int] = field(default_factory=collections.Counter)

    @property
    def running(self) -> bool:
        return self.thread.is_alive()


@contextlib.contextmanager
def serve_experiment(storage: Path) -> Iterator[Served]:
    """``tune.run(steady, with_server=True, server_port=0)`` in a thread, with two trials
    that run until stopped; yields once its server answers. Stops the experiment on exit."""
    outcome: dict[str, Any] = {}
    path = storage / EXPERIMENT

    def target() -> None:
        try:
            outcome["analysis"] = tune.run(
                steady,
                config={"endless": True, "x": tune.grid_search([1.0, 2.0])},
                name=EXPERIMENT,
                storage_path=str(storage),
                metric="loss",
                mode="min",
                executor=InProcessExecutor(num_cpus=4),
                with_server=True,
                server_port=0,
                raise_on_failed_trial=False,
                verbose=0,
            )
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="fuzzed-experiment", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    address = token = None
    while address is None or token is None:
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError(f"the experiment's server did not start: {outcome}")
        with contextlib.suppress(ValueError):
            address, token = read_address(str(path)), read_token(str(path))
        time.sleep(0.02)
    split = urlsplit(address)
    served = Served(
        str(split.hostname),
        int(split.port or 80),
        token,
        path,
        storage / "evaluated-marker",
        thread,
        outcome,
    )
    status, body = send(served, "POST", "/trials", _add_body({"endless": True, "x": 0.0}))
    assert status == 201, body
    served.victim = json.loads(body)["trials"][0]["id"]
    try:
        yield served
    finally:
        if thread.is_alive():
            send(served, "PUT", "/stop_experiment", b"", count=False)
            thread.join(60)


def _add_body(config: dict[str, Any], num_samples: int = 1) -> bytes:
    spec = {"config": config, "num_samples": num_samples}
    return json.dumps({"name": EXPERIMENT, "spec": spec}).encode()


# -- one request -------------------------------------------------------------------------------
def send(
    served: Served,
    method: str,
    target: str,
    body: bytes | None = None,
    *,
    token: str | None = "",
    scheme: str = "Bearer",
    headers: dict[str, str] | None = None,
    count: bool = True,
) -> tuple[int, bytes]:
    """Send one request on a fresh connection (raw bytes: any method, any target) and read
    the answer within :data:`TIMEOUT_S`; ``token=""`` means the right token, ``None`` none."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {served.host}:{served.port}"]
    if token is not None:
        lines.append(f"Authorization: {scheme} {token or served.token}".rstrip())
    for key, value in (headers or {}).items():
        lines.append(f"{key}: {value}")
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")
    with socket.create_connection((served.host, served.port), timeout=TIMEOUT_S) as sock:
        sock.sendall(head + (body or b""))
        response = http.client.HTTPResponse(sock, method=method)
        try:
            response.begin()
            data = response.read()
        finally:
            response.close()
    if count:
        served.counts[response.status] += 1
    return response.status, data


# -- what to send ------------------------------------------------------------------------------
def _eval_forms(marker: Path) -> st.SearchStrategy[Any]:
    touch = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    return st.sampled_from(
        [
            {"eval": touch},
            {"eval": f"({touch}, 1)[1]"},
            {"grid_search": [1, {"eval": touch}]},
            {"sample_from": f"lambda spec: {touch}"},
            {"sample_from": touch},
            {"function": "os:system"},
            {"__reduce__": ["builtins.eval", [touch]]},
            {"py/object": "os.system", "args": [touch]},
            {"!!python/object/apply:os.system": [touch]},
            {"grid_search": []},
            {"grid_search": "abc"},
            {"grid_search": [{"grid_search": [1, 2]}, 3]},
        ]
    )


def _json_values(marker: Path) -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=20),
        st.sampled_from(["endless", "x", "..", "../../etc/passwd", "\x00", "é", "config"]),
        st.sampled_from([2**63, -(2**63) - 1, 10**400, 2**63 - 1, 1e308, -0.0, 5e-324]),
    )
    leaves = st.one_of(scalars, _eval_forms(marker))
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(
                st.one_of(st.text(max_size=8), st.sampled_from(["eval", "grid_search", "x"])),
                children,
                max_size=4,
            ),
        ),
        max_leaves=20,
    )


def _deep(depth: int, kind: str) -> str:
    if kind == "list":
        return "[" * depth + "1" + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


def _bodies(marker: Path) -> st.SearchStrategy[bytes | None]:
    values = _json_values(marker)
    spec = st.fixed_dictionaries(
        {},
        optional={
            "config": st.one_of(st.dictionaries(st.text(max_size=8), values, max_size=4), values),
            "num_samples": st.one_of(
                st.integers(min_value=-3, max_value=3),
                st.integers(min_value=10**3, max_value=10**12),
                st.floats(allow_nan=True),
                st.booleans(),
            ),
            "run": st.one_of(st.just("steady"), st.text(max_size=10), values),
            "bogus": values,
        },
    )
    body = st.fixed_dictionaries(
        {},
        optional={"name": st.one_of(st.just(EXPERIMENT), values), "spec": spec, "x": values},
    )
    deep = st.builds(
        lambda depth, kind, wrap: (
            '{"name": "fuzzed", "spec": {"config": {"a": ' + _deep(depth, kind) + "}}}"
            if wrap
            else _deep(depth, kind)
        ).encode(),
        st.sampled_from([10, 63, 64, 65, 100, 900, 3000, 20000]),
        st.sampled_from(["list", "dict"]),
        st.booleans(),
    )
    raw = st.sampled_from(
        [
            b"",
            b"{",
            b"NaN",
            b'{"name": "fuzzed", "spec": {"config": {"x": NaN, "y": -Infinity, "z": 1e999}}}',
            b'{"name": "fuzzed", "spec": {"config": {"x": 1' + b"0" * 5000 + b"}}}",
            b'{"name": "fuzzed", "spec": {"num_samples": 1' + b"0" * 400 + b"}}",
            b"\xff\xfe\x00garbage",
            b'{"name": "fuzzed", "spec": {"config": {"x": "\\ud800"}}}',
            b'{"name": "fuzzed", "spec": {"config": {"\\udfff": 1}}}',
            b'{"name": "fuzzed", "spec": {"config": {"x": 1' + b"0" * 4000 + b"}}}",
            b'{"name": "fuzzed", "name": 1, "spec": {}}',
        ]
    )
    plain = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=10),
    )
    plain_config = st.dictionaries(
        st.text(max_size=8),
        st.one_of(plain, st.lists(plain, min_size=1, max_size=3).map(lambda v: {"grid_search": v})),
        max_size=4,
    )
    valid = st.builds(
        lambda config, n: {"name": EXPERIMENT, "spec": {"config": config, "num_samples": n}},
        plain_config,
        st.integers(min_value=1, max_value=2),
    )
    encoded = st.one_of(body, values, valid).map(lambda value: json.dumps(value).encode())
    return st.one_of(st.none(), encoded, encoded, encoded, deep, raw)


_ROUTES = [
    "/",
    "/index.html",
    "/experiment",
    "/trials",
    "/trials/{victim}",
    "/trials/{victim}/history",
    "/trials/nope",
    "/results",
    "/openapi.json",
    "/favicon.ico",
    "/static/app.js",
    "/static/../../../etc/passwd",
    "/static/%2e%2e/%2e%2e/etc/passwd",
    "/static/..%2F..%2Fetc%2Fpasswd",
    "/trials/..%2F..%2F",
    "/trials/%00",
    "/trials/%ZZ",
    "/%2e%2e/%2e%2e/",
    "//[x",
    "//evil.example/trials",
    "http://evil.example/trials",
    "*",
    "/trials/{victim}/../../experiment",
    "/trials/{victim}/history/extra",
    "/results?since=-1",
    "/results?since=abc&max=0",
    "/results?since=99999999999999999999999999&max=99999999999",
    "/results?" + "&".join(f"f{i}=1" for i in range(30)),
    "/?token={token}",
    "/trials?token={token}",
]


def _targets() -> st.SearchStrategy[str]:
    pieces = st.sampled_from([*"abz09/._-~%?&=;:@!$'()*+,", "%2e", "%2F", "%00", "é", ".."])
    random_path = st.lists(pieces, max_size=30).map(lambda parts: "/" + "".join(parts))
    under_trials = st.text(max_size=30).map(lambda text: "/trials/" + quote(text, safe=""))
    query = st.lists(
        st.tuples(st.sampled_from(["since", "max", "token", "x", ""]), st.text(max_size=12)),
        max_size=5,
    ).map(lambda pairs: "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs))
    route = st.tuples(st.sampled_from(_ROUTES), st.one_of(st.just(""), query)).map(
        lambda pair: pair[0] + (("&" if "?" in pair[0] else "?") + pair[1] if pair[1] else "")
    )
    return st.one_of(route, route, random_path, under_trials)


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    body: bytes | None
    token: str | None  # "" = the right one, None = no Authorization header
    scheme: str
    headers: tuple[tuple[str, str], ...]


def requests(marker: Path) -> st.SearchStrategy[Request]:
    """Generated requests: mostly with the right token (to get past authentication)."""
    methods = st.one_of(
        st.sampled_from(["GET", "HEAD", "POST", "POST", "POST", "PUT", "DELETE", "PATCH"]),
        st.sampled_from(["OPTIONS", "TRACE", "CONNECT", "PROPFIND", "get", "BREW", "X" * 300]),
    )
    tokens = st.one_of(
        st.just(""),
        st.just(""),
        st.just(""),
        st.none(),
        st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=50),
        st.sampled_from(["x" * 43, "Bearer", "*", "%00"]),
    )
    headers = st.lists(
        st.sampled_from(
            [
                ("Content-Type", "application/json"),
                ("Content-Type", "text/plain"),
                ("Expect", "100-continue"),
                ("X-Forwarded-For", "1.2.3.4"),
                ("Accept-Encoding", "gzip"),
                ("Origin", "http://evil.example"),
            ]
        ),
        max_size=3,
        unique=True,
    ).map(tuple)
    schemes = st.sampled_from(["Bearer", "Bearer", "bearer", "Basic", "Token"])
    anything = st.builds(Request, methods, _targets(), _bodies(marker), tokens, schemes, headers)
    # requests a client of the API would send, with generated bodies and queries: they get
    # past authentication and routing, into the handlers and the controller
    routed = st.one_of(
        st.builds(
            lambda body, target: Request("POST", target, body, "", "Bearer", ()),
            _bodies(marker),
            st.sampled_from(["/trials", "/trials/", "/trials?x=1"]),
        ),
        st.builds(
            lambda target: Request("GET", target, None, "", "Bearer", ()),
            _targets(),
        ),
        st.builds(
            lambda target, body: Request("PUT", target, body, "", "Bearer", ()),
            st.sampled_from(["/trials/{victim}", "/trials/nope", "/trials/%00"]),
            st.one_of(st.none(), st.just(b""), st.just(b"{}")),
        ),
    )
    return st.one_of(routed, routed, anything)


def is_stop_experiment(request: Request) -> bool:
    """A request that would (rightly) end the experiment: kept out so that the fuzzing goes
    on against a running one."""
    path = unquote(request.target.partition("?")[0].partition("#")[0]).strip("/")
    return request.method == "PUT" and path == "stop_experiment"


def probe(served: Served, request: Request) -> int:
    """Send ``request`` and check the answer: never a 5xx. Returns the status."""
    target = request.target.replace("{victim}", served.victim).replace("{token}", served.token)
    status, data = send(
        served,
        request.method,
        target,
        request.body,
        token=request.token,
        scheme=request.scheme,
        headers=dict(request.headers),
    )
    assert 100 <= status < 500, (status, data[:500], request)
    if status >= 400 and request.method != "HEAD":
        assert "error" in json.loads(data), data[:200]
    return status


# -- the fast test -----------------------------------------------------------------------------
def test_fuzzed_requests_never_fail_the_server_run_code_or_stop_the_experiment(tmp_path):
    marker = tmp_path / "evaluated-marker"
    strategy = requests(marker)
    strategy.validate()  # built before threads start importing modules it inspects (numpy)
    with serve_experiment(tmp_path) as served:
        assert served.marker == marker

        @settings(
            max_examples=300,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(strategy)
        def fuzz(request: Request) -> None:
            if is_stop_experiment(request):
                return
            probe(served, request)
            assert served.running, served.outcome

        fuzz()
        print("status histogram:", dict(sorted(served.counts.items())))
        assert not marker.exists(), "a request body was evaluated"
        assert sum(served.counts.values()) >= 200
        assert served.counts[201] > 0 and served.counts[400] > 0 and served.counts[401] > 0
        # still answering, still running, and it finishes
        status, body = send(served, "GET", "/experiment")
        assert status == 200 and not json.loads(body)["finished"]
        status, _ = send(served, "PUT", "/stop_experiment", b"")
        assert status == 200
        served.thread.join(60)
        assert not served.running, "the experiment did not finish"
    assert "error" not in served.outcome, served.outcome
    assert not marker.exists()
    trials = served.outcome["analysis"].trials
    assert len(trials) > 3  # the fuzzer added some
    # stop_experiment stops what runs; trials that never started stay PENDING
    assert all(t.status.value in ("TERMINATED", "ERROR", "PENDING") for t in trials)


def test_openapi_description_is_public_json_and_lists_the_routes(tmp_path):
    with serve_experiment(tmp_path) as served:
        status, body = send(served, "GET", "/openapi.json", token=None)
        assert status == 200
        document = json.loads(body)
        assert document["openapi"].startswith("3.")
        assert {"/trials", "/trials/{trial_id}", "/results", "/stop_experiment"} <= set(
            document["paths"]
        )
        # unknown methods are a 405 with Allow, not the 501 of http.server
        status, _ = send(served, "BREW", "/trials")
        assert status == 405


def test_the_edge_cases_found_by_fuzzing_stay_fixed(tmp_path):
    with serve_experiment(tmp_path) as served:
        for method, target, body in [
            ("GET", "//[x", None),  # urlsplit raises: was a 500
            ("GET", "/results?" + "&".join(f"f{i}=1" for i in range(30)), None),  # was a 500
            ("BREW", "/", None),  # was a 501
            ("POST", "/trials", b'{"name": "fuzzed", "spec": {"config": {"grid_search": [1]}}}'),
            (
                "POST",
                "/trials",
                ('{"name": "fuzzed", "spec": {"config": ' + _deep(500, "dict") + "}}").encode(),
            ),
            ("POST", "/trials", _add_body({"x": 1}, 10**9)),
            # a lone surrogate in a config crashed the TensorBoard logger, and the experiment
            ("POST", "/trials", b'{"name": "fuzzed", "spec": {"config": {"x": "\\ud800"}}}'),
            ("POST", "/trials", _add_body({"x": 10**400})),
            # schemathesis, from GET /openapi.json: "run" is a string, null was accepted
            ("POST", "/trials", b'{"name": "fuzzed", "spec": {"config": {}, "run": null}}'),
        ]:
            status, data = send(served, method, target, body)
            assert 400 <= status < 500, (method, target, status, data)
        assert not served.marker.exists()
