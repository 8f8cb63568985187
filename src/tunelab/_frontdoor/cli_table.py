"""``tunelab ls``'s tables in tabulate's ``psql`` format, at the cost of string padding.

tabulate infers a type and an alignment cell by cell through several parsers (most of the
time of listing 100,000 trials). :func:`psql_lines` renders the same table, character for
character, for the cells a trial table holds: numbers (Python and numpy), strings (numbers
written as strings are numbers, as tabulate parses them, except in the text columns),
booleans and missing values. It returns None for anything it does not reproduce exactly
(several lines in a cell, non-ASCII or control characters, bytes, a number written with
thousands separators): the caller then uses tabulate itself. ``tests/unit/test_cli_render.py``
checks the equality against tabulate.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from typing import Any

__all__ = ["psql_lines"]

# tabulate's column types, from the least to the most generic
_NONE, _BOOL, _INT, _FLOAT, _STR = range(5)


class _Unsupported(Exception):
    """A cell this renderer does not reproduce exactly."""


def _plain(text: str) -> bool:
    return text.isascii() and text.isprintable()


def _is_int(value: Any) -> bool:
    if type(value) is int:
        return True
    if (hasattr(value, "is_integer") or hasattr(value, "__array__")) and str(
        type(value)
    ).startswith("<class 'numpy.int"):
        return True
    if isinstance(value, str):
        try:
            int(value)
        except ValueError:
            return False
        return True
    return False


def _is_number(value: Any) -> bool:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    if isinstance(value, str) and (math.isinf(number) or math.isnan(number)):
        return value.lower() in ("inf", "-inf", "nan")
    return True


def _kind(value: Any, numparse: bool) -> int:
    """tabulate's ``_type`` of one cell."""
    if value is None or (isinstance(value, str) and not value):
        return _NONE
    if isinstance(value, bytes):
        raise _Unsupported
    if isinstance(value, str) and (not _plain(value) or (numparse and "," in value)):
        raise _Unsupported  # wide/invisible characters; thousands separators
    if hasattr(value, "isoformat"):
        return _STR
    if type(value) is bool or (isinstance(value, str) and value in ("True", "False")):
        return _BOOL
    if numparse and _is_int(value):
        return _INT
    if numparse and _is_number(value):
        return _FLOAT
    return _STR


def _format(value: Any, kind: int) -> str:
    """tabulate's ``_format`` for the column type ``kind`` (missing values: ``""``)."""
    if value is None or (isinstance(value, str) and not value):
        return ""
    if kind == _INT:
        text = format(value, "")
    elif kind == _FLOAT:
        text = format(float(value), "g")
    else:  # tabulate strips the cells it aligns left (PRESERVE_WHITESPACE is off)
        text = f"{value}".strip()
    if not _plain(text):
        raise _Unsupported
    return text


def _afterpoint(text: str) -> int:
    """Digits after the decimal point (or exponent) of a number; -1 for an integer or text."""
    if not _is_number(text) or _is_int(text):
        return -1
    point = text.rfind(".")
    if point < 0:
        point = text.lower().rfind("e")
    return len(text) - point - 1 if point >= 0 else -1


def _column(header: str, cells: Sequence[Any], numparse: bool) -> tuple[list[str], str, bool]:
    """The column's cells as text (decimal-aligned for numbers), its header, and whether it
    is right-aligned."""
    kind = max((_kind(value, numparse) for value in cells), default=_BOOL)
    kind = max(kind, _BOOL)  # tabulate starts from bool
    texts = [_format(value, kind) for value in cells]
    numeric = kind in (_INT, _FLOAT)
    if numeric:
        points = [_afterpoint(text) for text in texts]
        most = max(points, default=-1)
        texts = [text + " " * (most - point) for text, point in zip(texts, points, strict=True)]
    width = max([len(header) + 2, *(len(text) for text in texts)])
    if numeric:
        return [text.rjust(width) for text in texts], header.rjust(width), True
    return [text.ljust(width) for text in texts], header.ljust(width), False


def psql_lines(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], text_columns: Collection[int]
) -> list[str] | None:
    """The lines of ``tabulate(rows, headers, tablefmt="psql", missingval="",
    disable_numparse=text_columns)``, or None where this renderer would differ from it.

    Args:
        headers: The column names.
        rows: The rows, one cell per header (None: missing).
        text_columns: Indexes of the columns whose strings are never parsed as numbers.
    """
    if not all(_plain(header) for header in headers):
        return None
    try:
        columns = [
            _column(header, [row[index] for row in rows], index not in text_columns)
            for index, header in enumerate(headers)
        ]
    except _Unsupported:
        return None
    rule = "+".join("-" * (len(head) + 2) for _, head, _ in columns)
    lines = [f"+{rule}+", "| " + " | ".join(head for _, head, _ in columns) + " |", f"|{rule}|"]
    cells = [texts for texts, _, _ in columns]
    lines.extend("| " + " | ".join(row) + " |" for row in zip(*cells, strict=True))
    lines.append(f"+{rule}+")
    return lines
