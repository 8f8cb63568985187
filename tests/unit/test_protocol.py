"""The worker protocol (execution/_protocol.py): typed messages and their wire form."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from tunelab.execution import _protocol as P
from tunelab.execution._protocol import EndReason, TrialTask, Verdict


@pytest.mark.parametrize(
    "command",
    [
        P.Setup(("/a", "/b"), {"X": "1"}),
        P.Decide("t1", Verdict.SAVE),
        P.StopRequest("t1"),
        P.PauseRequest("t1"),
        P.Exit(),
        TrialTask(
            trial_id="t1",
            trial_dir="/tmp/t1",
            trainable_key="k",
            config={"lr": 0.1, "fn": lambda x: x + 1},  # configs may hold functions
            remote=P.RemoteStorage("/stage", "memory://b/e", "tok"),
            milestone_attr="training_iteration",
            milestones=(1.0, 3.0),
        ),
    ],
    ids=lambda c: type(c).__name__,
)
def test_commands_round_trip(command: Any) -> None:
    decoded = P.decode_command(P.encode_command(command))
    if isinstance(command, TrialTask):
        assert decoded.config["fn"](1) == 2  # type: ignore[union-attr]
        assert decoded == TrialTask(**{**vars(command), "config": decoded.config})  # type: ignore[union-attr]
    else:
        assert decoded == command


def test_the_wire_form_of_commands_is_plain_tuples() -> None:
    assert pickle.loads(P.encode_command(P.Decide("t1", Verdict.STOP))) == (
        "decision",
        "t1",
        "STOP",
    )
    assert pickle.loads(P.encode_command(P.Exit())) == ("exit",)


def test_results_decode_with_their_marks_taken_out() -> None:
    first: dict[str, Any] = {"training_iteration": 1}
    second: dict[str, Any] = {"training_iteration": 2}
    P.mark_checkpoint(first, "/trial/checkpoint_000001")
    P.mark_wait(second)
    message = P.results_message("t1", [first, second])
    event = P.decode_event(pickle.loads(P.dumps(message)))
    assert isinstance(event, P.Results)
    assert event.trial_id == "t1" and event.wait
    assert event.checkpoints == {0: "/trial/checkpoint_000001"}
    assert event.results == [
        {"training_iteration": 1, "checkpoint_dir_name": "checkpoint_000001"},
        {"training_iteration": 2},
    ]
    plain = P.decode_event(P.results_message("t1", [{"a": 1}]))
    assert plain == P.Results("t1", [{"a": 1}], None, False)


def test_end_messages_decode_to_their_event() -> None:
    assert P.decode_event(P.end_message("t1", EndReason.DONE)) == P.Ended("t1", EndReason.DONE)
    assert P.decode_event(P.end_message("t1", EndReason.STOPPED)) == P.Ended(
        "t1", EndReason.STOPPED
    )
    assert P.decode_event(P.end_message("t1", EndReason.PAUSED, "/c")) == P.Paused("t1", "/c")
    assert P.decode_event(P.end_message("t1", EndReason.ERROR, ("tb", "E()"))) == P.Failed(
        "t1", "tb", "E()", False
    )
    failed = P.decode_event(P.end_message("t1", EndReason.ERROR, ("tb", "E()", "restore")))
    assert isinstance(failed, P.Failed) and failed.during_restore
    assert P.decode_event(P.checkpoint_message("t1", "/c", 3)) == P.CheckpointSaved("t1", "/c", 3)


def test_hello() -> None:
    assert P.decode_event(P.hello_message("tok", 12, "host", "10.0.0.1")) == P.Hello(
        "tok", 12, "host", "10.0.0.1", ()
    )
    hello = P.decode_hello(P.hello_message("tok", 12, "h", "ip", cached=["a", "b"]))
    assert hello.cached == ("a", "b")
    with pytest.raises(ValueError, match="not a hello"):
        P.decode_hello(("results", "t1", []))


@pytest.mark.parametrize("message", [("nonsense", 1), ("end", "t1", "exploded", None), 42])
def test_what_is_no_message_is_unreadable(message: Any) -> None:
    with pytest.raises(P.UnreadableMessage):
        P.decode_event(message)
    with pytest.raises(P.UnreadableMessage):
        P.decode_command(P.dumps(message))


def test_bytes_that_do_not_unpickle_are_unreadable() -> None:
    with pytest.raises(P.UnreadableMessage, match="could not be unpickled"):
        P.decode_command(b"not a pickle")
