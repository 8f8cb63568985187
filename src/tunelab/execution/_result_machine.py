"""What happens to each result of a trial's run: one state machine for every runner.

The worker loop (``_worker.py``), the simulated executor (``_simulated.py``) and the scheduler
conformance suite (``testing/scheduler_conformance.py``) all ask a :class:`ResultMachine`
and do what its :class:`Step` says; none of them decides by hand. It is pure: no I/O, no
threads, no clock (the times it compares are the result's own fields), so it is unit-tested
in milliseconds and the same inputs give the same steps everywhere.

For each result, in this order (the order of the worker, which users see):

1. **checkpoint**: a checkpoint reported with the result (or due: ``checkpoint_freq``, a class
   trainable's ``should_checkpoint``, see :meth:`ResultMachine.checkpoint_due`) goes with it;
2. **stop requested** (by the controller: a stopper, ``time_budget_s``, the REST API): the
   result is dropped, never logged, and so is its checkpoint (never written: it would be a
   stray directory no one registers); the run ends STOPPED, saving a checkpoint at its end
   when ``checkpoint_at_end`` is set;
3. **pause requested** (Ctrl+C, the REST API): the result is sent and the run ends PAUSED
   (class trainables save; the trial resumes from that checkpoint);
4. **done**: the result says ``done``, the trainable has no more iterations, or the dict stop
   criteria are met: the result is marked ``done: True``, sent, and the run ends DONE;
5. **decision point**: every result when the run is ``sync`` (a custom scheduler or a
   controller-side ``Stopper``), or the first result whose ``milestone_attr`` reaches the
   next milestone(s): the result is sent marked as waiting, and the run waits for a
   :class:`~tunelab.execution._protocol.Verdict` (:meth:`ResultMachine.on_verdict`);
6. otherwise the result is sent and the run goes on.

A run that ends DONE or STOPPED (here or by a STOP verdict) saves a checkpoint at its end when
``checkpoint_at_end`` is set and its last result carried none (``Step.save_at_end``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tunelab.execution._protocol import EndReason, Verdict

if TYPE_CHECKING:
    from tunelab.execution._protocol import TrialTask

__all__ = ["ResultMachine", "Step"]


@dataclass(frozen=True)
class Step:
    """What to do with one result (or, from :meth:`ResultMachine.on_verdict`, after one).

    ``send``: the result goes to the controller. ``checkpoint``: it carries the checkpoint
    that came with it (persist that first). ``wait``: it is a decision point: mark it, send
    it now and wait for a verdict. ``end``: the run ends after it (the reason).
    ``save_at_end``: save a checkpoint before ending (``checkpoint_at_end``). ``save``: save
    a checkpoint now and go on (a SAVE verdict; class trainables only).
    """

    send: bool = True
    checkpoint: bool = False
    wait: bool = False
    end: EndReason | None = None
    save_at_end: bool = False
    save: bool = False

    def __str__(self) -> str:
        """``send+checkpoint+wait``, ``end=stopped`` (dropped), ``continue``..."""
        flags = ("send", "checkpoint", "wait", "save", "save_at_end")
        parts = [name for name in flags if getattr(self, name)]
        if self.end is not None:
            parts.append(f"end={self.end.value}")
        return "+".join(parts) or "continue"


_SEND = Step()
_SEND_CHECKPOINT = Step(checkpoint=True)
_WAIT = Step(wait=True)
_WAIT_CHECKPOINT = Step(checkpoint=True, wait=True)
_GO_ON = Step(send=False)
_SAVE = Step(send=False, save=True)
_PAUSE = Step(send=False, end=EndReason.PAUSED)


class ResultMachine:
    """The per-result decisions of one run of one trial (see the module docstring).

    ``stop_criteria``: dict stop criteria (validated as ``stop=`` is). ``sync``: every result
    is a decision point. ``milestone_attr``/``milestones``: the scheduler's decision points.
    ``checkpoint_freq``: a checkpoint is due every that many iterations (class trainables,
    the simulated executor). ``checkpoint_at_end``: save one when the run ends DONE/STOPPED.
    """

    __slots__ = (
        "_at_end",
        "_attr",
        "_carried",
        "_criteria",
        "_freq",
        "_milestones",
        "_next",
        "_sync",
    )

    def __init__(
        self,
        *,
        stop_criteria: Mapping[str, Any] | None = None,
        sync: bool = False,
        milestone_attr: str | None = None,
        milestones: Iterable[float] = (),
        checkpoint_freq: int = 0,
        checkpoint_at_end: bool = False,
    ) -> None:
        criteria = None
        if stop_criteria:
            from tunelab.stopper._criteria import StopCriteria

            criteria = StopCriteria(stop_criteria)
        self._criteria = criteria
        self._sync = bool(sync)
        self._attr = milestone_attr
        self._milestones = sorted(milestones) if milestone_attr is not None else []
        self._next = 0  # index of the next milestone to reach
        self._freq = int(checkpoint_freq or 0)
        self._at_end = bool(checkpoint_at_end)
        self._carried = False  # the last result carried a checkpoint

    @classmethod
    def for_task(cls, task: TrialTask, *, checkpoint_freq: int | None = None) -> ResultMachine:
        """The machine of a run of ``task`` (``checkpoint_freq`` overrides the task's)."""
        return cls(
            stop_criteria=task.stop_criteria,
            sync=task.sync,
            milestone_attr=task.milestone_attr,
            milestones=task.milestones,
            checkpoint_freq=task.checkpoint_freq if checkpoint_freq is None else checkpoint_freq,
            checkpoint_at_end=task.checkpoint_at_end,
        )

    def checkpoint_due(self, iteration: int, requested: bool = False) -> bool:
        """Whether the result of ``iteration`` should carry a checkpoint before it is
        decided on: ``requested`` (a class trainable's ``should_checkpoint``), or every
        ``checkpoint_freq`` iterations."""
        freq = self._freq
        return bool(requested) or bool(freq and iteration % freq == 0)

    def on_result(
        self,
        result: dict[str, Any],
        *,
        checkpoint: bool = False,
        finished: bool = False,
        stop_requested: bool = False,
        pause_requested: bool = False,
    ) -> Step:
        """The step for ``result`` (already filled in): ``checkpoint``: a checkpoint comes
        with it; ``finished``: the trainable has no iteration after it; ``stop_requested``
        / ``pause_requested``: the controller asked the run to end at this report. Sets
        ``result["done"] = True`` on a result that ends the run as done."""
        if stop_requested:  # dropped with its checkpoint, which is not the last one then
            self._carried = False
            return Step(send=False, end=EndReason.STOPPED, save_at_end=self._at_end)
        self._carried = checkpoint
        if pause_requested:
            return Step(checkpoint=checkpoint, end=EndReason.PAUSED)
        criteria = self._criteria
        if finished or result.get("done") or (criteria is not None and criteria(result)):
            result["done"] = True
            return Step(
                checkpoint=checkpoint,
                end=EndReason.DONE,
                save_at_end=self._at_end and not checkpoint,
            )
        wait = self._sync
        milestones = self._milestones
        if milestones:
            value = result.get(self._attr)  # type: ignore[arg-type]
            index = self._next
            if value is not None and index < len(milestones) and value >= milestones[index]:
                wait = True
                while index < len(milestones) and value >= milestones[index]:
                    index += 1
                self._next = index
        if wait:
            return _WAIT_CHECKPOINT if checkpoint else _WAIT
        return _SEND_CHECKPOINT if checkpoint else _SEND

    def on_verdict(self, verdict: Verdict | str) -> Step:
        """The step after the controller's verdict on the result the run waits on."""
        if verdict == Verdict.STOP:
            return Step(
                send=False,
                end=EndReason.STOPPED,
                save_at_end=self._at_end and not self._carried,
            )
        if verdict == Verdict.PAUSE:
            return _PAUSE
        if verdict == Verdict.SAVE:
            return _SAVE
        return _GO_ON
