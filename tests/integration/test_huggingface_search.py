"""transformers' Trainer.hyperparameter_search on tunelab
(tunelab.integration.huggingface.hyperparameter_search): a tiny BERT built from a config in
the test (no download) on a synthetic task, trained in worker processes, with evaluation at
the end only, every epoch under ASHA, and under PBT (the Trainer resumes from the exploited
checkpoint)."""

from __future__ import annotations

import importlib.util
import os
import warnings
from typing import Any

import pytest
from callback_helpers import (
    assert_asha_stopped_the_two_that_cannot_learn,
    assert_taker_continued_from_the_donor,
    pbt_donor_and_taker,
    read_results,
)

if importlib.util.find_spec("transformers") is None or importlib.util.find_spec("torch") is None:
    pytest.skip(
        'transformers and PyTorch are not installed (pip install "tunelab[transformers]")',
        allow_module_level=True,
    )

import torch
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    Trainer,
    TrainingArguments,
)
from transformers.trainer_utils import BestRun

import tunelab as tune
from tunelab.analysis import ExperimentAnalysis
from tunelab.integration.huggingface import default_hp_space, hyperparameter_search
from tunelab.schedulers import ASHAScheduler, PopulationBasedTraining


class Tokens(torch.utils.data.Dataset):  # type: ignore[misc]
    """Sequences of 8 token ids; the label says whether the first token is above 50."""

    def __init__(self, n: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(5, 100, (n, 8), generator=g)
        self.labels = (self.ids[:, 0] > 50).long()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {
            "input_ids": self.ids[i],
            "attention_mask": torch.ones(8, dtype=torch.long),
            "labels": self.labels[i],
        }


def model_init(trial: Any = None) -> Any:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=100,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
    )
    return BertForSequenceClassification(config)


def make_trainer(output_dir: str, **args: Any) -> Trainer:
    defaults: dict[str, Any] = {
        "num_train_epochs": 3,
        "per_device_train_batch_size": 16,
        "report_to": "none",
        "disable_tqdm": True,
        "use_cpu": True,
        "logging_strategy": "no",
        "save_strategy": "no",
        "eval_strategy": "no",
    }
    with warnings.catch_warnings():  # transformers' own advice is not this test's concern
        warnings.simplefilter("ignore")
        return Trainer(
            model_init=model_init,
            args=TrainingArguments(output_dir=output_dir, **{**defaults, **args}),
            train_dataset=Tokens(64, 0),
            eval_dataset=Tokens(32, 1),
        )


def test_arguments_are_checked_before_any_trial(tmp_path) -> None:
    trainer = make_trainer(str(tmp_path / "out"))
    with pytest.raises(ValueError, match="direction must be"):
        hyperparameter_search(trainer, direction="up")
    with pytest.raises(ValueError, match="n_trials must be"):
        hyperparameter_search(trainer, n_trials=0)
    with pytest.raises(ValueError, match="num_samples is set by hyperparameter_search"):
        hyperparameter_search(trainer, num_samples=3)
    # ASHA acts on intermediate results: the Trainer must evaluate during training
    with pytest.raises(RuntimeError, match="AsyncHyperBandScheduler"):
        hyperparameter_search(trainer, scheduler=ASHAScheduler())
    trainer.model_init = None
    with pytest.raises(RuntimeError, match="model_init"):
        hyperparameter_search(trainer)
    with pytest.raises(TypeError, match=r"transformers\.Trainer"):
        hyperparameter_search(object())
    assert not os.path.exists(tmp_path / "results")  # no run started


@pytest.mark.timeout(600)
def test_default_space_custom_objective_evaluation_at_the_end_best_run(tmp_path) -> None:
    trainer = make_trainer(str(tmp_path / "out"), num_train_epochs=1)
    model = trainer.model
    best = hyperparameter_search(
        trainer,
        compute_objective=lambda metrics: -metrics["eval_loss"],
        n_trials=2,
        direction="maximize",
        storage_path=str(tmp_path),
        name="hf_default",
        verbose=0,
    )
    assert isinstance(best, BestRun)
    analysis = best.run_summary
    assert isinstance(analysis, ExperimentAnalysis)
    assert set(best.hyperparameters) == set(default_hp_space())
    trials = analysis.trials
    assert len(trials) == 2
    objectives = {t.trial_id: t.last_result["objective"] for t in trials}
    assert best.objective == max(objectives.values())
    assert objectives[best.run_id] == best.objective
    for trial in trials:
        # no evaluation during training: one report at the end, with the objective
        (line,) = read_results(trial.path)
        assert line["objective"] == pytest.approx(-line["eval_loss"])
        assert line["done"] is True
        (inner,) = _trainer_checkpoints(trial)
        assert inner.startswith("checkpoint-")
    assert trainer.model is model  # the caller's trainer is left as it was


def _trainer_checkpoints(trial: Any) -> list[str]:
    directory = os.path.join(trial.path, read_results(trial.path)[-1]["checkpoint_dir_name"])
    names = [n for n in os.listdir(directory) if n.startswith("checkpoint-")]
    for name in names:
        assert os.path.isfile(os.path.join(directory, name, "model.safetensors"))
        assert os.path.isfile(os.path.join(directory, name, "optimizer.pt"))
    return names


@pytest.mark.timeout(600)
def test_asha_stops_trials_that_do_not_learn_from_per_epoch_evaluations(tmp_path) -> None:
    trainer = make_trainer(
        str(tmp_path / "out"), eval_strategy="epoch", save_strategy="epoch", num_train_epochs=3
    )
    best = hyperparameter_search(
        trainer,
        hp_space=lambda _: {"learning_rate": tune.grid_search([1e-2, 1e-2, 0.0, 0.0])},
        n_trials=1,
        direction="minimize",
        scheduler=ASHAScheduler(
            metric="objective", mode="min", max_t=3, grace_period=1, reduction_factor=2
        ),
        max_concurrent_trials=2,
        storage_path=str(tmp_path),
        name="hf_asha",
        verbose=0,
    )
    trials = best.run_summary.trials
    assert_asha_stopped_the_two_that_cannot_learn(
        (t.config["learning_rate"], t.last_result["training_iteration"]) for t in trials
    )
    assert best.hyperparameters == {"learning_rate": 1e-2}
    for trial in trials:
        lines = read_results(trial.path)
        # every evaluation is one result with the metrics, the objective and a checkpoint
        assert all(r["objective"] == pytest.approx(r["eval_loss"]) for r in lines)
        assert [r["epoch"] for r in lines] == [float(i) for i in range(1, len(lines) + 1)]
        assert all(r.get("checkpoint_dir_name") for r in lines)
        assert _trainer_checkpoints(trial) == [f"checkpoint-{4 * len(lines)}"]
        # each trial's own Trainer output directory (a trial stopped at its first report
        # is stopped before the Trainer saves there)
        own = tmp_path / "out" / f"run-{trial.trial_id}"
        if len(lines) > 1:
            assert os.path.isdir(own / f"checkpoint-{4 * (len(lines) - 1)}")


@pytest.mark.timeout(600)
def test_pbt_resumes_the_trainer_from_the_exploited_checkpoint(tmp_path) -> None:
    trainer = make_trainer(
        str(tmp_path / "out"), eval_strategy="epoch", save_strategy="epoch", num_train_epochs=3
    )
    pbt = PopulationBasedTraining(
        metric="objective",
        mode="min",
        time_attr="training_iteration",
        perturbation_interval=1,
        hyperparam_mutations={"learning_rate": [5e-3, 1e-2]},
        synch=True,
        seed=0,
    )
    best = hyperparameter_search(
        trainer,
        hp_space=lambda _: {"learning_rate": tune.grid_search([0.0, 1e-2])},
        n_trials=1,
        direction="minimize",
        scheduler=pbt,
        storage_path=str(tmp_path),
        name="hf_pbt",
        verbose=0,
    )
    results = [read_results(t.path) for t in best.run_summary.trials]
    # epochs 1..3 reported once each, across restarts
    donor, taker = pbt_donor_and_taker(results, key="learning_rate", donor_lr=1e-2, iterations=3)
    for lines in results:
        assert [r["epoch"] for r in lines] == [1.0, 2.0, 3.0]
    # the trial that could not learn continued from the other's epoch-1 checkpoint
    assert taker[0]["objective"] > donor[0]["objective"]
    assert_taker_continued_from_the_donor(
        donor, taker, at=1, key="learning_rate", mutations=(5e-3, 1e-2), metric="objective"
    )


def train_with_ray_train_callback(config: dict) -> None:
    """Ray 2.x's ray.train.huggingface.transformers idiom inside a function trainable."""
    from tunelab.train.huggingface.transformers import RayTrainReportCallback, prepare_trainer

    trainer = make_trainer(
        os.path.join(tune.get_trial_dir(), "out"),
        eval_strategy="epoch",
        save_strategy="epoch",
        num_train_epochs=2,
        learning_rate=config["lr"],
    )
    trainer.add_callback(RayTrainReportCallback())
    trainer = prepare_trainer(trainer)
    trainer.train()


@pytest.mark.timeout(600)
def test_ray_train_report_callback_reports_each_save_with_the_trainer_checkpoint(
    tmp_path,
) -> None:
    grid = tune.Tuner(
        train_with_ray_train_callback,
        param_space={"lr": 1e-2},
        run_config=tune.RunConfig(name="hf_ray_train", storage_path=str(tmp_path), verbose=0),
    ).fit()
    assert grid.num_errors == 0, [r.error for r in grid if r.error]
    result = grid[0]
    lines = read_results(result.path)
    assert [(r["epoch"], r["step"]) for r in lines] == [(1.0, 4), (2.0, 8)]
    assert all("eval_loss" in r and r.get("checkpoint_dir_name") for r in lines)
    with result.checkpoint.as_directory() as directory:
        saved = os.path.join(directory, "checkpoint")
        assert os.path.isfile(os.path.join(saved, "trainer_state.json"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = BertForSequenceClassification.from_pretrained(saved)
            evaluator = make_trainer(str(tmp_path / "eval"))
            evaluator.model = model
            loss = evaluator.evaluate()["eval_loss"]
    assert loss == pytest.approx(lines[-1]["eval_loss"], rel=1e-5)
