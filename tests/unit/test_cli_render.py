"""``tunelab ls``'s table: ids and names shown as written, numbers aligned as numbers."""

from __future__ import annotations

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
