"""``tunelab ls``'s table: ids and names shown as written, numbers aligned as numbers."""

from __future__ import annotations

from typing import Any

import pandas as pd

from tunelab._frontdoor.cli_commands import _render


def test_ids_and_names_are_shown_as_written_and_numbers_as_numbers() -> None:
    frame = pd.DataFrame(
        {
            "trial_id": ["00042", "1e3", "a5a97_00001"],
            "status": ["TERMINATED", "ERROR", "RUNNING"],
            "score": [1.5, 10.25, None],
            "experiment_tag": ["7", "8", "9"],
        }
    )
    lines = _render(frame)
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[3:-1]]
    assert [row[0] for row in rows] == ["00042", "1e3", "a5a97_00001"]  # not 42, 1000
    assert [row[2] for row in rows] == ["1.5", "10.25", ""]
    # numbers keep tabulate's decimal alignment
    body = lines[3:-1]
    assert body[0].index("1.5") + 1 == body[1].index("10.25") + 2


def _tabulate_lines(frame: pd.DataFrame, text_columns: set[int]) -> list[str]:
    from tabulate import tabulate

    cells = frame.astype(object).where(frame.notna(), None).values.tolist()
    return tabulate(
        cells,
        headers=[str(c) for c in frame.columns],
        tablefmt="psql",
        missingval="",
        disable_numparse=sorted(text_columns),
    ).splitlines()


def test_the_fast_table_is_tabulates_table() -> None:
    import datetime
    import random

    import numpy as np

    from tunelab._frontdoor.cli_table import psql_lines

    rng = random.Random(0)
    pools: list[list[Any]] = [
        [1.5, 10.25, 3.0, -0.001, 1e-9, 2.5e12, float("inf"), None],
        [1, 22, -333, 0, None, 10**12],
        [np.int64(7), np.int32(-3), None, np.int64(12345)],
        [np.float64(0.5), np.float32(1.25), None, np.float64(-3e-5)],
        ["00042", "1e3", "7", " 8 ", "x", "", None, "nan", "inf", "1_000", "-2.50"],
        [True, False, None, "True"],
        ["TERMINATED", "ERROR", "a b", "/tmp/x/y_0", None],
        [datetime.date(2026, 12, 7), "2026-12-07", None],
        [None],
        [1, 2.5, "3", None, "four"],
    ]
    for _ in range(300):
        names = rng.sample(range(len(pools)), rng.randint(1, 6))
        rows = rng.randint(1, 8)
        data = {
            f"c{name}_{i}": [rng.choice(pools[name]) for _ in range(rows)]
            for i, name in enumerate(names)
        }
        frame = pd.DataFrame(data)
        text_columns = {i for i in range(len(names)) if rng.random() < 0.3}
        cells = frame.astype(object).where(frame.notna(), None).values.tolist()
        lines = psql_lines([str(c) for c in frame.columns], cells, text_columns)
        assert lines == _tabulate_lines(frame, text_columns), (data, text_columns)


def test_the_fast_table_leaves_what_it_does_not_reproduce_to_tabulate() -> None:
    from tunelab._frontdoor.cli_table import psql_lines

    for cell in ("two\nlines", "wide \u4e2d", "\x1b[31mred\x1b[0m", b"bytes", "1,000"):
        assert psql_lines(["a"], [[cell]], set()) is None
    frame = pd.DataFrame({"name": ["wide \u4e2d", "x"], "score": [1.5, 2.0]})
    assert _render(frame) == _tabulate_lines(frame, set())  # through tabulate
