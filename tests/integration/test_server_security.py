"""Security and load tests of the server against live experiments on loopback: requests
without the right token, malformed or oversized bodies are refused and change nothing; a
thousand requests leave the experiment running and its results intact."""

from __future__ import annotations

import http.client
import json
import os
import socket

import pytest
from server_helpers import live_experiment, wait_for

from tunelab.execution import InProcessExecutor


def _iterations(trial_dir):
    with open(os.path.join(trial_dir, "result.json")) as fh:
        return [json.loads(line)["training_iteration"] for line in fh if line.strip()]


class Raw:
    """One keep-alive HTTP connection; reconnects when the server closed it."""

    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def __call__(self, method, path, body=None, headers=None):
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                response = self.conn.getresponse()
                data = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                return response.status, data
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        self.conn.close()


@pytest.fixture
def live(tmp_path, monkeypatch):
    with live_experiment(tmp_path, monkeypatch, executor=InProcessExecutor(num_cpus=4)) as live:
        wait_for(
            lambda: (
                len(t := live.trials()) == 2
                and all(x["status"] == "RUNNING" and x["iterations"] >= 2 for x in t.values())
            ),
            message="two running trials",
        )
        yield live


def _snapshot(live):
    return {tid: t["status"] for tid, t in live.trials().items()}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-wrong-token-wrong"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "bearer"},
    ],
    ids=["missing", "wrong", "empty", "basic", "scheme-only"],
)
def test_requests_without_the_token_get_401_and_change_nothing(live, headers):
    before = _snapshot(live)
    victim = sorted(before)[0]
    raw = Raw(live.server.port)
    token = live.server.token
    body = json.dumps({"name": "live", "spec": {"config": {"x": 9.0}}})
    attempts = [
        ("GET", "/trials", None),
        ("GET", f"/trials/{victim}", None),
        ("GET", "/results?since=0", None),
        ("GET", "/experiment", None),
        ("GET", "/", None),
        ("GET", f"/trials/{victim}?token={token}", None),  # API tokens only in the header
        ("PUT", f"/trials/{victim}", b""),
        ("PUT", "/stop_experiment", b""),
        ("POST", "/trials", body),
        ("DELETE", "/trials", None),
        ("GET", "/no/such/route", None),
    ]
    for method, path, payload in attempts:
        status, data = raw(method, path, payload, headers)
        assert status == 401, (method, path, status, data)
        assert b"token" in data and str(victim).encode() not in data
    raw.close()
    assert live.running
    wait_for(lambda: all(t["iterations"] >= 4 for t in live.trials().values()), message="more")
    assert _snapshot(live) == before == {tid: "RUNNING" for tid in before}


def test_malformed_and_invalid_bodies_get_400(live):
    before = _snapshot(live)
    raw = Raw(live.server.port)
    auth = {"Authorization": f"Bearer {live.server.token}", "Content-Type": "application/json"}
    cases = [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b"[" * 100000 + b"]" * 100000, "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
        (json.dumps({"name": 3, "spec": {}}).encode(), '"name" must be a string'),
        (json.dumps({"name": "live", "spec": [1]}).encode(), '"spec" must be a JSON object'),
        (json.dumps({"name": "live"}).encode(), '"spec" must be a JSON object'),
        (json.dumps({"name": "live", "spec": {}, "x": 1}).encode(), "unknown keys ['x']"),
        (json.dumps({"name": "live", "spec": {"bogus": 1}}).encode(), "cannot add trials"),
        (
            json.dumps({"name": "live", "spec": {"config": {}, "num_samples": -3}}).encode(),
            "num_samples",
        ),
    ]
    for payload, message in cases:
        status, data = raw("POST", "/trials", payload, auth)
        assert status == 400, (payload[:40], status, data)
        assert message in json.loads(data)["error"], data
    status, data = raw("POST", "/trials", None, {**auth, "Content-Length": "abc"})
    assert status == 400 and b"Content-Length" in data
    status, data = raw("GET", "/results?since=x", None, auth)
    assert status == 400
    raw.close()
    assert live.running and _snapshot(live) == before


def test_oversized_and_chunked_bodies_are_refused_unread(live):
    before = _snapshot(live)
    token = live.server.token
    limit = 1 << 20
    # the server answers 413 from the headers alone and closes the connection
    with socket.create_connection(("127.0.0.1", live.server.port), timeout=10) as sock:
        head = (
            f"POST /trials HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {limit + 1}\r\n\r\n"
        )
        sock.sendall(head.encode() + b"{" + b" " * 65536)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    raw = Raw(live.server.port)
    auth = {"Authorization": f"Bearer {token}"}
    status, data = raw("POST", "/trials", b"x" * (2 * limit), auth)
    assert status == 413 and b"limit" in data
    status, data = raw("PUT", f"/trials/{sorted(before)[0]}", b"x" * (limit + 10), auth)
    assert status == 413
    conn = http.client.HTTPConnection("127.0.0.1", live.server.port, timeout=10)
    conn.putrequest("POST", "/trials")
    conn.putheader("Authorization", f"Bearer {token}")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    conn.send(b"5\r\nhello\r\n0\r\n\r\n")
    response = conn.getresponse()
    assert response.status == 411
    conn.close()
    # the server still answers, nothing changed
    status, data = raw("GET", "/trials", None, auth)
    assert status == 200 and len(json.loads(data)["trials"]) == 2
    raw.close()
    assert live.running and _snapshot(live) == before


def test_a_thousand_requests_leave_the_experiment_running_and_results_intact(live):
    raw = Raw(live.server.port)
    auth = {"Authorization": f"Bearer {live.server.token}"}
    bad = {"Authorization": "Bearer nope-nope-nope-nope"}
    ids = sorted(live.trials())
    statuses = {}
    seq = 0
    for i in range(1000):
        kind = i % 8
        if kind == 0:
            status, data = raw("GET", "/trials", None, auth)
        elif kind == 1:
            status, data = raw("GET", f"/trials/{ids[i % 2]}", None, auth)
        elif kind == 2:
            status, data = raw("GET", f"/results?since={seq}", None, auth)
            if status == 200:
                seq = json.loads(data)["seq"]
        elif kind == 3:
            status, data = raw("PUT", f"/trials/{ids[0]}", b"", bad)
        elif kind == 4:
            status, data = raw("POST", "/trials", b"{broken", auth)
        elif kind == 5:
            status, data = raw("GET", "/trials/unknown-trial", None, auth)
        elif kind == 6:
            status, data = raw("GET", "/experiment", None, auth)
        else:
            status, data = raw("GET", "/static/app.js", None)
        statuses[kind] = statuses.get(kind, set()) | {status}
    raw.close()
    assert statuses == {
        0: {200},
        1: {200},
        2: {200},
        3: {401},
        4: {400},
        5: {404},
        6: {200},
        7: {200},
    }
    assert live.running
    trials = live.trials()
    assert {t["status"] for t in trials.values()} == {"RUNNING"}
    seen = {tid: t["iterations"] for tid, t in trials.items()}
    wait_for(
        lambda: all(live.trials()[tid]["iterations"] > seen[tid] for tid in ids),
        message="the trials to go on reporting",
    )
    analysis = live.finish()
    assert {t.status.value for t in analysis.trials} == {"TERMINATED"}
    for trial in analysis.trials:
        iterations = _iterations(trial.local_path)
        assert iterations == list(range(1, len(iterations) + 1))  # no gap, no repeat
        assert iterations[-1] == trial.last_result["training_iteration"] > seen[trial.trial_id]
