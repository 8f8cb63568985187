"""Driver SIGKILL at random moments, then resume: exact trial counts with learning
searchers, no configuration suggested twice, every iteration logged once, restarts from
the newest checkpoint (issue 10, points 2 and 6). The long soak is
benchmarks/soak_chaos.py."""

import pytest
from kill_loop import check_experiment, kill_and_resume

SEARCHERS = ["optuna", "hyperopt", "nevergrad", "bohb"]


@pytest.mark.parametrize("searcher", SEARCHERS)
def test_learning_searcher_resumed_after_kills_gives_exactly_num_samples(tmp_path, searcher):
    pytest.importorskip({"bohb": "scipy"}.get(searcher, searcher))
    report = kill_and_resume(tmp_path, searcher=searcher, num_samples=12, kills=3, seed=1)
    assert report.kills == 3
    check_experiment(tmp_path, report, num_samples=12)


def test_asha_resumed_after_kills_logs_every_iteration_once(tmp_path):
    report = kill_and_resume(tmp_path, scheduler="asha", num_samples=12, kills=3, seed=2)
    assert report.kills == 3
    check_experiment(tmp_path, report, num_samples=12)


def test_pbt_resumed_after_kills_logs_every_iteration_once(tmp_path):
    report = kill_and_resume(tmp_path, scheduler="pbt", num_samples=4, kills=3, seed=3)
    assert report.kills == 3
    # PBT changes configs and restarts trials from other trials' checkpoints
    check_experiment(tmp_path, report, num_samples=4, unique_configs=False, contiguous=False)
