"""The trainable side: the ``Trainable`` class and function-trainable helpers."""

from tunelab.trainable._durable import DurableTrainable, durable
from tunelab.trainable._trainable import Trainable
from tunelab.trainable._wrappers import with_parameters, with_resources

__all__ = ["DurableTrainable", "Trainable", "durable", "with_parameters", "with_resources"]
