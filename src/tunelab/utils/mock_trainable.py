"""Ray Tune's ``ray.tune.utils.mock_trainable``: the toy trainable of Ray's examples and tests.

:class:`MyTrainableClass` follows a learning curve without learning anything: step ``t``
reports ``episode_reward_mean = tanh(t / width) * height`` (``width`` and ``height`` from the
config, both default 1), so that schedulers and searchers can be tried in a second. It
checkpoints its step counter and resumes from it.

Config keys besides ``width``/``height``, as in Ray Tune 2.x:

* ``sleep`` (seconds, default 0): sleep that long in every step;
* ``mock_error`` (default False): raise ``RuntimeError`` in every step after the first one,
  until the trainable has been restored from a checkpoint (fault-tolerance demos);
* ``persistent_error`` (default False): with ``mock_error``, keep failing after a restore too.

:data:`MOCK_TRAINABLE_NAME` and :func:`register_mock_trainable` register it under a name.
"""

from __future__ import annotations

import json
import math
import os
import time
from typing import Any

from tunelab.trainable import Trainable

__all__ = [
    "MOCK_ERROR_KEY",
    "MOCK_TRAINABLE_NAME",
    "MyTrainableClass",
    "register_mock_trainable",
]

MOCK_TRAINABLE_NAME = "mock_trainable"
MOCK_ERROR_KEY = "mock_error"
_FILE = "checkpoint"


class MyTrainableClass(Trainable):
    """Example trainable whose reward follows ``tanh(step / width) * height``."""

    def setup(self, config: dict[str, Any], **kwargs: Any) -> None:
        self._sleep_time = float(config.get("sleep", 0))
        self._mock_error = bool(config.get(MOCK_ERROR_KEY, False))
        self._persistent_error = bool(config.get("persistent_error", False))
        self.timestep = 0
        self.restored = False

    def step(self) -> dict[str, Any]:
        # The first step always succeeds, so that a checkpoint can be taken before a failure.
        if self._mock_error and self.timestep > 0 and (self._persistent_error or not self.restored):
            raise RuntimeError(f"Failing on purpose! timestep={self.timestep}")
        if self._sleep_time > 0:
            time.sleep(self._sleep_time)
        self.timestep += 1
        value = math.tanh(float(self.timestep) / self.config.get("width", 1))
        value *= self.config.get("height", 1)
        return {"episode_reward_mean": value}

    def save_checkpoint(self, checkpoint_dir: str) -> str:
        # returns the file, as Ray 1.x's did (1.x analysis hands out that file's path)
        path = os.path.join(checkpoint_dir, _FILE)
        with open(path, "w") as fh:
            fh.write(json.dumps({"timestep": self.timestep}))
        return path

    def load_checkpoint(self, checkpoint: Any) -> None:
        # The checkpoint directory (Ray 2.x), or the file itself (Ray 1.x returned its path).
        path = os.fspath(checkpoint)
        if os.path.isdir(path):
            path = os.path.join(path, _FILE)
        with open(path) as fh:
            self.timestep = json.loads(fh.read())["timestep"]
        self.restored = True


def register_mock_trainable() -> None:
    """Register :class:`MyTrainableClass` as :data:`MOCK_TRAINABLE_NAME`."""
    from tunelab._registry import register_trainable

    register_trainable(MOCK_TRAINABLE_NAME, MyTrainableClass)
