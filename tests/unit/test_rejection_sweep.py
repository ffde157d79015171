"""The report's rejection-target sweep (stages/report/sweep.py) on pair tables and results written here: each
point's position (rejected z), reward gap, EuroEval delta and LC win rate, computed by hand."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workflow_scripts.names import parse_target
from workflow_scripts.stages.pairs import select
from workflow_scripts.stages.report.common import target_label
from workflow_scripts.stages.report.sweep import sweep_html, sweep_plot, sweep_points

M = "m"
SCOPE = "mono-da"


def pair_table(path, chosen, rejected, mean, std):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"chosen_reward": chosen, "rejected_reward": rejected, "pool_mean": mean, "pool_std": std}), path)
    return path


def euroeval_rows(subject, scores):
    return [
        {"subject": subject, "language": "da", "dataset": d, "primary": True, "step": np.nan, "score": v}
        for d, v in scores.items()
    ]


@pytest.fixture
def sweep(tmp_path):
    root = tmp_path / f"results/datasets/{M}/{SCOPE}"
    paths = [
        # two pairs each; the second pool has std 0 on purpose in the last table (left out of z)
        pair_table(root / "dpo-mean_minus_1sigma-chosen.parquet", [3.0, 2.0], [1.0, 1.0], [2.0, 1.5], [1.0, 0.5]),
        pair_table(root / "dpo-mean_minus_2sigma-chosen.parquet", [3.0, 2.0], [0.0, 0.5], [2.0, 1.5], [1.0, 0.5]),
        pair_table(root / "dpo-quantile_0.1-chosen.parquet", [3.0, 2.0], [0.5, 2.0], [2.0, 2.0], [1.0, 0.0]),
        # another scope with a single target: not a sweep
        pair_table(tmp_path / f"results/datasets/{M}/mono-de/dpo-mean_minus_2sigma-chosen.parquet", [1.0], [0.0], [0.5], [0.5]),
    ]
    adapter = f"{M}/{M}/{SCOPE}"
    scores = pd.DataFrame(
        euroeval_rows(M, {"a": 50.0, "b": 60.0})
        + euroeval_rows(f"{adapter}/dpo-mean_minus_1sigma-chosen", {"a": 52.0, "b": 61.0})
        + euroeval_rows(f"{adapter}/dpo-mean_minus_2sigma-chosen", {"a": 55.0, "b": 63.0})
        + euroeval_rows(f"{adapter}/dpo-mean_minus_2sigma-chosen@beta=0.2", {"a": 49.0, "b": 59.0})
    )
    overall = pd.DataFrame(
        [
            {"model": f"{adapter}/dpo-mean_minus_2sigma-chosen", "language": "da", "lc_win_rate": 60.0},
            {"model": f"{adapter}/dpo-mean_minus_2sigma-chosen", "language": "de", "lc_win_rate": 50.0},
        ]
    )
    return paths, scores, overall


def test_each_target_is_a_point_with_its_position_and_outcomes(sweep, tmp_path):
    paths, scores, overall = sweep
    points = sweep_points(paths, scores, overall)
    assert set(points["sweep"]) == {f"{M}/{SCOPE}/dpo-*-chosen"}  # mono-de has one target: no sweep
    by = {(r.target, r.subject): r for r in points.itertuples()}
    assert len(points) == 4  # μ−2σ has two adapters (a β variant shares its pairs); quantile 0.1 none
    one = by[("mean_minus_1sigma", f"{M}/{M}/{SCOPE}/dpo-mean_minus_1sigma-chosen")]
    # z = mean((1-2)/1, (1-1.5)/0.5) = -1; gap = mean(2, 1) = 1.5; Δ = mean(+2, +1) = 1.5; never compared
    assert (one.rejected_z, one.reward_gap, one.euroeval_delta) == (-1.0, 1.5, 1.5) and np.isnan(one.lc_win_rate)
    two = by[("mean_minus_2sigma", f"{M}/{M}/{SCOPE}/dpo-mean_minus_2sigma-chosen")]
    assert (two.rejected_z, two.reward_gap, two.euroeval_delta, two.lc_win_rate) == (-2.0, 2.25, 4.0, 55.0)
    variant = by[("mean_minus_2sigma", f"{M}/{M}/{SCOPE}/dpo-mean_minus_2sigma-chosen@beta=0.2")]
    assert variant.euroeval_delta == -1.0 and variant.rejected_z == -2.0
    (quantile,) = [r for r in points.itertuples() if r.target == "quantile_0.1"]  # no adapter: the pairs' figures only
    assert pd.isna(quantile.subject) and np.isnan(quantile.euroeval_delta)
    assert quantile.rejected_z == -1.5 and quantile.reward_gap == 1.25 and quantile.label == "quantile 0.1"
    assert list(points[points["sweep"] == f"{M}/{SCOPE}/dpo-*-chosen"]["rejected_z"]) == sorted(points["rejected_z"])
    sweep_plot(points, tmp_path / "sweep.png")
    assert (tmp_path / "sweep.png").stat().st_size > 10_000
    assert "μ−2σ" in sweep_html(points) and "+4.0" in sweep_html(points)


def test_without_a_sweep_nothing_is_drawn(sweep, tmp_path):
    paths, scores, overall = sweep
    assert sweep_points(paths[3:], scores, overall).empty
    sweep_plot(sweep_points([], scores, overall), tmp_path / "none.png")
    assert sweep_html(sweep_points([], scores, overall)) == ""


@pytest.mark.parametrize(
    "target, goal",
    [
        ("mean_minus_1.5sigma", lambda r: r.mean() - 1.5 * r.std()),
        ("quantile_0.1", lambda r: np.quantile(r, 0.1)),
        ("quantile_0.9", lambda r: np.quantile(r, 0.9)),
        ("q1", lambda r: np.quantile(r, 0.25)),
        ("min", lambda r: r.min()),
    ],
)
def test_every_target_aims_where_it_says(target, goal):
    rng = np.random.default_rng(3)
    rewards = rng.normal(0, 1, 64)
    selection = select(np.zeros(64, int), np.zeros(64, int), np.arange(64), rewards, target)
    assert selection.target_value[0] == pytest.approx(goal(rewards), abs=1e-12)
    below = rewards[rewards < rewards.max()]
    assert rewards[selection.rejected[0]] == below[np.argmin(np.abs(below - goal(rewards)))]
    kind, level = parse_target(target)
    assert target_label(target) in ("Q1", "min", f"μ−{level:g}σ", f"quantile {level:g}")
