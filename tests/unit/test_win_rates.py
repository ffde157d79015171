"""Length-controlled win rates on cases derivable by hand, bootstrap intervals, and verdict parsing."""

import numpy as np
import pyarrow as pa
import pytest

from workflow_scripts.stages.arena.judge import JUDGMENT_SCHEMA, game_plan, outcome_for_model, parse_verdict
from workflow_scripts.stages.arena.lc import lc_win_rate, raw_win_rate, summarize
from workflow_scripts.stages.arena.win_rates import win_rates

from helpers import TEST_DATA


def test_without_length_differences_lc_equals_raw_win_rate():
    outcomes = np.array([1, 1, 1, 0, 0.5, 0, 1, 0.5])  # 4 wins, 2 ties, 2 losses -> (4 + 1) / 8
    assert raw_win_rate(outcomes) == pytest.approx(5 / 8)
    assert lc_win_rate(outcomes, np.zeros(8)) == pytest.approx(5 / 8)
    # a constant length difference carries no information either
    assert lc_win_rate(outcomes, np.full(8, 40.0)) == pytest.approx(5 / 8)


def test_length_independent_preference_keeps_lc_near_the_raw_rate():
    rng = np.random.default_rng(1)
    outcomes = (rng.random(4000) < 0.7).astype(float)
    diff = rng.normal(0, 100, 4000)
    assert lc_win_rate(outcomes, diff) == pytest.approx(raw_win_rate(outcomes), abs=0.02)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_preference_that_follows_length_only_gives_lc_near_half(seed):
    rng = np.random.default_rng(seed)
    diff = rng.normal(30, 60, 4000)  # the model is longer most of the time
    outcomes = (rng.random(4000) < 1 / (1 + np.exp(-4 * np.tanh(diff / diff.std())))).astype(float)
    assert raw_win_rate(outcomes) > 0.65  # the raw rate rewards length...
    assert lc_win_rate(outcomes, diff) == pytest.approx(0.5, abs=0.05)  # ...the LC rate does not


def test_deterministic_length_preference_gives_exactly_half():
    diff = np.array([-30, -20, -10, 10, 20, 30], dtype=float)
    outcomes = (diff > 0).astype(float)  # the longer answer always wins
    assert raw_win_rate(outcomes) == 0.5
    assert lc_win_rate(outcomes, diff) == pytest.approx(0.5, abs=1e-6)


def test_all_wins_stay_finite():
    assert lc_win_rate(np.ones(10), np.arange(10.0)) > 0.99


def test_summary_counts_and_intervals():
    rng = np.random.default_rng(3)
    outcomes = rng.choice([0.0, 0.5, 1.0], size=200, p=[0.3, 0.1, 0.6])
    diff = rng.normal(0, 20, 200)
    result = summarize(outcomes, diff, bootstrap_samples=300, seed=5)
    assert result["wins"] + result["ties"] + result["losses"] == result["games"] == 200
    assert result["wins"] == int((outcomes == 1).sum()) and result["ties"] == int((outcomes == 0.5).sum())
    low, high = result["win_rate_ci95"]
    assert low < result["win_rate"] < high and high - low < 20
    low, high = result["lc_win_rate_ci95"]
    assert low < result["lc_win_rate"] < high
    assert summarize(outcomes, diff, bootstrap_samples=300, seed=5) == result  # seeded


@pytest.mark.parametrize(
    "text, with_ties, without_ties",
    [
        ("Assistant 1 is more accurate. [[1]]", "1", "1"),
        ("Final verdict: [[2]]", "2", "2"),
        ("They are equally good. [[T]]", "T", None),  # a tie where none is allowed is not guessed
        ("[[t]]", "T", None),
        ("[[ 2 ]]", "2", "2"),
        ("I prefer [[1]]. Final verdict: [[1]]", "1", "1"),  # repeated, consistent
        ("[[1]] ... actually [[2]]", None, None),  # contradictory: unparseable
        ("Assistant 1 is better.", None, None),  # no verdict
        ("[1]", None, None),
        ("<think>maybe [[2]]</think>Verdict: [[1]]", "1", "1"),  # reasoning is ignored
        ("<think>still thinking [[1]]", None, None),  # cut off inside the reasoning
        ("", None, None),
        (None, None, None),
    ],
)
def test_parse_verdict(text, with_ties, without_ties):
    assert parse_verdict(text, allow_ties=True) == with_ties
    assert parse_verdict(text, allow_ties=False) == without_ties


def test_game_plans_and_outcomes():
    both = game_plan(["a", "b"], "both", seed=1)
    assert both == [("a", True), ("a", False), ("b", True), ("b", False)]
    ids = [f"p{i}" for i in range(200)]
    random = game_plan(ids, "random", seed=1)
    assert [pid for pid, _ in random] == ids
    assert game_plan(ids, "random", seed=1) == random  # seeded
    assert 60 < sum(first for _, first in random) < 140
    assert game_plan(ids, "random", seed=2) != random
    assert outcome_for_model("1", True) == 1.0 and outcome_for_model("1", False) == 0.0
    assert outcome_for_model("2", False) == 1.0 and outcome_for_model("T", True) == 0.5
    assert outcome_for_model(None, True) is None


def test_win_rates_count_unparseable_apart_and_split_by_subcategory():
    rows = {
        "prompt_id": ["p1", "p1", "p2", "p2", "p3", "p3"],
        "language": ["da"] * 6,
        "category": ["math", "math", "math", "math", "coding", "coding"],
        "subcategory": ["arithmetic", "arithmetic", "algebra", "algebra", None, None],
        "model_is_first": [True, False] * 3,
        "status": ["judged", "judged", "judged", "unparseable", "judged", "judged"],
        "verdict": ["1", "1", "2", None, "T", "1"],
        "outcome": [1.0, 0.0, 0.0, None, 0.5, 1.0],
        "model_tokens": [10] * 6,
        "baseline_tokens": [10] * 6,
        "model_chars": [40] * 6,
        "baseline_chars": [40] * 6,
        "judge_output": [""] * 6,
    }
    result = win_rates(pa.table(rows, schema=JUDGMENT_SCHEMA), bootstrap_samples=50, seed=0)
    overall = result["overall"]
    assert overall["unparseable"] == 1 and overall["games"] == 5 and overall["prompts"] == 3
    assert (overall["wins"], overall["ties"], overall["losses"]) == (2, 1, 2)
    assert overall["win_rate"] == pytest.approx(100 * 2.5 / 5)
    assert overall["lc_win_rate"] == pytest.approx(overall["win_rate"])  # equal lengths
    assert set(result["by_subcategory"]) == {"arithmetic", "algebra", "coding"}  # category fills a missing subcategory
    assert result["by_subcategory"]["algebra"]["unparseable"] == 1


def test_logprob_verdicts_cancel_position_bias():
    from workflow_scripts.stages.arena.judge import logprob_verdicts

    games = game_plan(["p1", "p2", "p3"], "both", seed=0)

    # The judge always prefers slot 1 by 2 nats; on p1 it also likes the model's answer by 0.5, on p2 the
    # answers are identical, on p3 it likes the baseline's answer by 0.25.
    def score(pid, first):
        content = {"p1": 0.5, "p2": 0.0, "p3": -0.25}[pid] * (1 if first else -1)
        return {"1": -0.1, "2": -0.1 - 2.0 - content, "T": -3.0}

    scores = [score(pid, first) for pid, first in games]
    naive = logprob_verdicts(scores, games, allow_ties=True, tie_margin=0.0, debias=False)
    assert naive == ["1"] * 6  # position bias alone: every game goes to slot 1
    debiased = logprob_verdicts(scores, games, allow_ties=True, tie_margin=0.0, debias=True)
    outcomes = [outcome_for_model(v, first) for v, (_, first) in zip(debiased, games)]
    assert outcomes == [1.0, 1.0, 0.5, 0.5, 0.0, 0.0]
    no_ties = logprob_verdicts(scores, games, allow_ties=False, tie_margin=0.0, debias=True)
    assert no_ties[2:4] == [None, None]  # an exact tie where none is allowed is not guessed
    wide = logprob_verdicts(scores, games, allow_ties=True, tie_margin=0.3, debias=True)
    assert [outcome_for_model(v, f) for v, (_, f) in zip(wide, games)] == [1.0, 1.0, 0.5, 0.5, 0.5, 0.5]


def test_report_shows_a_dash_where_every_verdict_was_unparseable(tmp_path):
    """A comparison whose judge never wrote a verdict has no win rate: the report says so instead of failing."""
    import json

    from workflow_scripts.stages.arena.win_rates import clean_nan
    from workflow_scripts.stages.report.arena import arena_frame, arena_plot, arena_table_html

    rows = {
        "prompt_id": ["p1", "p1"],
        "language": ["da"] * 2,
        "category": ["math"] * 2,
        "subcategory": [None] * 2,
        "model_is_first": [True, False],
        "status": ["unparseable"] * 2,
        "verdict": [None, None],
        "outcome": [None, None],
        "model_tokens": [10, 12],
        "baseline_tokens": [11, 9],
        "model_chars": [50, 60],
        "baseline_chars": [55, 45],
        "judge_output": ["I think", "Both"],
    }
    result = win_rates(pa.table(rows, schema=JUDGMENT_SCHEMA), bootstrap_samples=20, seed=0)
    result.update(comparison="dpo-vs-base", model="m", baseline="b", judge="j", language="da")
    path = tmp_path / "da.json"
    path.write_text(json.dumps(clean_nan(result)))
    overall, sub = arena_frame([path])
    html = arena_table_html(overall, sub, 30)
    assert "<td>1</td><td>0/0/0</td><td>2</td><td>0</td><td>– –</td><td class='ns'><b>–</b> –†</td>" in html
    arena_plot(overall, 30, tmp_path / "plot.png")
    assert (tmp_path / "plot.png").stat().st_size > 1000


def test_the_report_marks_lc_win_rates_from_few_prompts_or_with_a_narrower_interval_and_folds_small_rows(tmp_path):
    """The demo's Danish DPO case: 6 prompts, raw 83.3 [50, 100], LC 99.5 [97.9, 100] (the length fit saturates).
    Marked † (fewer than 30 prompts) and ‡ (the LC interval is narrower than the raw one); a 40-prompt cell with a
    wider LC interval is not marked; subcategories under 30 prompts are folded, the one with 31 is not."""
    import json

    from workflow_scripts.stages.report.arena import arena_frame, arena_table_html

    def block(prompts, raw, lc):
        return {
            "prompts": prompts, "games": 2 * prompts, "wins": prompts, "ties": 0, "losses": prompts,
            "unparseable": 0, "too_long": 0, "win_rate": raw[0], "win_rate_ci95": raw[1:],
            "lc_win_rate": lc[0], "lc_win_rate_ci95": lc[1:],
        }  # fmt: skip

    paths = []
    for lang, overall, subs in [
        ("da", block(6, (83.3, 50.0, 100.0), (99.5, 97.9, 100.0)), {"poem": block(1, (100, 100, 100), (100, 100, 100))}),
        ("de", block(40, (55.0, 45.0, 65.0), (56.0, 44.0, 68.0)), {"story": block(31, (50, 40, 60), (50, 38, 62))}),
    ]:
        result = {"comparison": "dpo-vs-base", "language": lang, "model": "m", "baseline": "b", "overall": overall,
                  "by_subcategory": subs}  # fmt: skip
        paths.append(tmp_path / f"{lang}.json")
        paths[-1].write_text(json.dumps(result))
    overall, sub = arena_frame(paths)
    html = arena_table_html(overall, sub, 30)
    main, subcategories = html.split("<h3>Per subcategory</h3>")
    assert "<td>dpo-vs-base</td><td>da</td><td>6</td>" in main and "[97.9, 100.0]†‡</td>" in main
    assert "<td>dpo-vs-base</td><td>de</td><td>40</td>" in main and "[44.0, 68.0]</td>" in main
    assert "narrower than the raw win rate's" in main and "fewer than 30 prompts" in main
    shown, folded = subcategories.split("<details>")
    assert "<td>story</td>" in shown and "<td>poem</td>" not in shown
    assert "1 subcategory row(s) from fewer than 30 prompts each" in folded and "<td>poem</td>" in folded


# ---------------------------------------------------------------- the authors' protocol (judge.protocol: paper)


def paper_fixture():
    import json

    return json.loads((TEST_DATA / "paper_lc_fixture.json").read_text())["cases"]


@pytest.mark.parametrize("case", ["length_correlated", "no_length_signal", "equal_lengths", "separable"])
def test_paper_lc_win_rate_matches_the_authors_numbers(case):
    """tests/data/paper_lc_fixture.json holds judgments and what the authors' own LC function returned for
    them (computed once with their script); ours must give the same numbers to their 2 decimals."""
    from workflow_scripts.stages.arena.lc import paper_lc_fit, paper_lc_win_rate

    fixture = paper_fixture()[case]
    diff = np.array(fixture["model_lengths"], float) - np.array(fixture["ref_lengths"], float)
    assert round(100 * paper_lc_win_rate(fixture["preferences"], diff), 2) == pytest.approx(fixture["lc_win_rate"], abs=1e-9)
    intercept, slope = paper_lc_fit(fixture["preferences"], diff)
    if fixture["theta"] or fixture["phi"]:
        assert round(intercept, 4) == pytest.approx(fixture["theta"], abs=1e-4)
        assert round(slope, 4) == pytest.approx(fixture["phi"], abs=1e-4)


def test_paper_fit_leaves_more_of_a_length_effect_in_the_intercept():
    """The longer answer wins every game: the near-unpenalized fit attributes it to length (LC near 50%), the
    authors' penalty of 1.0 on the length coefficient keeps much of it in the intercept."""
    from workflow_scripts.stages.arena.lc import paper_lc_win_rate

    diff = np.array([100, 200, 300, 150, 250, 120, -100, -200], dtype=float)
    outcomes = (diff > 0).astype(float)  # raw win rate 75%
    assert lc_win_rate(outcomes, diff) == pytest.approx(0.546, abs=0.01)
    assert paper_lc_win_rate(outcomes, diff) == pytest.approx(0.697, abs=0.01)


@pytest.mark.parametrize(
    "text, verdict",
    [
        # the judge echoes the format string, then decides: the last verdict counts (strict parsing: unparseable)
        ('Format: "[[1]]" if output_1 is better, "[[2]]" if output_2 is better, "[[T]]" if equal.\nOutput 2 wins.\n[[2]]', "2"),
        ("[[M]]", "T"),  # their [[M]] counts as a tie
        ("[[t]]", "T"),
        (r"\[\[1\]\]", "1"),  # escaped brackets (markdown) are brackets
        ("<think>[[2]]</think> [[1]]", "1"),
        ("[[1]] ... actually [[2]]", "2"),
        ("no verdict", None),
        (None, None),
    ],
)
def test_paper_verdict_parsing(text, verdict):
    from workflow_scripts.stages.arena.judge import parse_verdict_paper

    assert parse_verdict_paper(text) == verdict


def test_protocol_defaults_fill_only_what_the_config_leaves_open():
    from workflow_scripts.planning.plan import effective_judge

    assert effective_judge({"protocol": "paper", "orders": None, "temperature": None}) == {
        "protocol": "paper",
        "orders": "random",
        "temperature": 0.7,
    }
    assert effective_judge({"protocol": "debiased", "orders": None, "temperature": None})["orders"] == "both"
    assert effective_judge({"protocol": "paper", "orders": "both", "temperature": 0.0})["orders"] == "both"


def test_paper_win_rates_control_for_characters_and_count_too_long_prompts_apart():
    rows = {
        "prompt_id": ["p1", "p2", "p3", "p4", "p5"],
        "language": ["da"] * 5,
        "category": ["math"] * 5,
        "subcategory": [None] * 5,
        "model_is_first": [True, False, True, False, True],
        "status": ["judged", "judged", "judged", "judged", "too_long"],
        "verdict": ["1", "1", "T", "2", None],
        "outcome": [1.0, 0.0, 0.5, 1.0, None],
        # equal token lengths, different characters: only the paper protocol sees a length difference
        "model_tokens": [10] * 5,
        "baseline_tokens": [10] * 5,
        "model_chars": [300, 100, 200, 400, 50],
        "baseline_chars": [100, 300, 200, 100, 60],
        "judge_output": [""] * 4 + [None],
    }
    table = pa.table(rows, schema=JUDGMENT_SCHEMA)
    paper = win_rates(table, bootstrap_samples=20, seed=0, protocol="paper")["overall"]
    debiased = win_rates(table, bootstrap_samples=20, seed=0, protocol="debiased")["overall"]
    assert paper["too_long"] == debiased["too_long"] == 1 and paper["unparseable"] == 0 and paper["games"] == 4
    assert paper["win_rate"] == debiased["win_rate"] == pytest.approx(100 * 2.5 / 4)
    assert debiased["lc_win_rate"] == pytest.approx(debiased["win_rate"])  # no token differences
    assert paper["lc_win_rate"] != pytest.approx(paper["win_rate"], abs=0.5)  # character differences matter
    assert paper["mean_model_chars"] == pytest.approx(210)
    assert paper["win_rate_standard_error"] == pytest.approx(100 * np.std([1, 0, 0.5, 1], ddof=1) / 2)


@pytest.mark.parametrize(
    "subject, label",
    [
        ("eurollm-9b", ("eurollm-9b", "base", "-")),
        ("eurollm-9b/eurollm-9b/mono-da/dpo-mean_minus_2sigma-chosen", ("eurollm-9b", "Paired DPO (μ−2σ)", "mono")),
        ("eurollm-9b/tiny-aya/multi-da+en/maxr", ("eurollm-9b", "Max-R [off-policy: tiny-aya]", "multi")),
        (
            "eurollm-9b/eurollm-9b+instructed/multi-da+en/dpo-q1-random",
            ("eurollm-9b", "Paired DPO (Q1, prompt: random) [language instruction]", "multi"),
        ),
        ("eurollm-9b/translated/multi-da+en/sft", ("eurollm-9b", "All-Lang SFT", "multi")),
    ],
)
def test_report_names_methods_as_the_paper_does(subject, label):
    from workflow_scripts.stages.report.common import method_label

    assert method_label(subject) == label


def test_the_baseline_comparison_keeps_paired_dpo_icr_and_mapo_in_their_languages():
    """§4.1's m-ArenaHard part: the comparisons of Paired DPO, ICR and MAPO adapters in de/en/es/fr, where a
    baseline has one; Max-R and other languages are the main table's."""
    import pandas as pd

    from workflow_scripts.stages.report.arena import baseline_comparisons

    rows = [
        ("m/m/multi-de+en/dpo-mean_minus_2sigma-chosen", "de"),
        ("m/m/multi-de+en/dpo-mean_minus_2sigma-chosen", "da"),
        ("m/m@samples=10/multi-de+en/icr", "en"),
        ("m/m/multi-de+es/mapo", "es"),
        ("m/m/multi-de+en/maxr", "de"),
        ("m", "de"),
    ]
    overall = pd.DataFrame({"model": [m for m, _ in rows], "language": [lang for _, lang in rows]})
    methods = ("Paired DPO (μ−2σ", "ICR", "MAPO")
    kept = baseline_comparisons(overall, ["de", "en", "es", "fr"], methods)
    assert list(zip(kept["model"], kept["language"])) == [rows[0], rows[2], rows[3]]
    without = baseline_comparisons(overall.drop(index=[2, 3]), ["de", "en", "es", "fr"], methods)
    assert without.empty  # Paired DPO alone is the main table's
