"""Ray Tune 0.x/1.x's ``ray.tune.trial`` path: :class:`Trial` and :class:`ExportFormat`."""

from __future__ import annotations

from tunelab._errors import TuneValueError
from tunelab._experiment import EXPORT_FORMATS
from tunelab._trial import Trial

__all__ = ["ExportFormat", "Trial"]


class ExportFormat:
    """The formats ``export_formats=`` accepts, for a trainable's ``_export_model``."""

    CHECKPOINT = "checkpoint"
    MODEL = "model"
    ONNX = "onnx"
    H5 = "h5"

    @staticmethod
    def validate(formats: list[str]) -> None:
        """Normalise ``formats`` in place (stripped, lower case).

        Raises :class:`~tunelab.TuneError` (also a ``ValueError``) on an unknown format.
        """
        for i, item in enumerate(formats):
            normal = item.strip().lower() if isinstance(item, str) else item
            if normal not in EXPORT_FORMATS:
                raise TuneValueError(
                    f"export_formats: unsupported format {item!r}; allowed: {list(EXPORT_FORMATS)}"
                )
            formats[i] = normal
