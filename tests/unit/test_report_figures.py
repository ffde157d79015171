"""The report's EuroEval held-out table (Table 2) and the reward-consistency figure (Appendix B), on small frames
and files whose numbers are worked out by hand."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workflow_scripts.stages.report.data import reference_percentiles, reward_consistency_plot, spearman
from workflow_scripts.stages.report.euroeval import euroeval_frame, held_out_table_html

MODEL = "m"
ADAPTER = "m/m/multi-da+en/dpo-mean_minus_2sigma-chosen"


def euroeval_file(tmp_path, subject, scores, half_widths=None):
    import json

    languages = {}
    for (lang, name), value in scores.items():
        half = (half_widths or {}).get((lang, name), 1.0)
        entry = {"primary_metric": "mcc", "metrics": {"mcc": {"score": value, "half_width": half}}}
        languages.setdefault(lang, {"datasets": {}})["datasets"][name] = entry
    path = tmp_path / f"{subject.replace('/', '_')}.json"
    path.write_text(json.dumps({"subject": subject, "languages": languages}))
    return path


def test_held_out_table_shows_base_absolute_and_adapter_deltas_per_dataset(tmp_path):
    base = euroeval_file(tmp_path, MODEL, {("da", "d1"): 40.0, ("no", "n1"): 30.0, ("no", "n2"): 20.0, ("sv", "s1"): 10.0})
    tuned = euroeval_file(tmp_path, ADAPTER, {("da", "d1"): 45.0, ("no", "n1"): 32.5, ("no", "n2"): 17.0, ("sv", "s1"): 10.0})
    html = held_out_table_html(euroeval_frame([base, tuned]), ["no", "sv"])
    assert "<th colspan='2'>no</th><th colspan='1'>sv</th>" in html
    assert "<th>n1</th><th>n2</th><th>s1</th>" in html and "d1" not in html  # Danish is trained on: not here
    base_row, tuned_row = html.split("<tr><td>")[1:3]
    assert "base (absolute)" in base_row and ">30.0<" in base_row and ">20.0<" in base_row
    # each difference's half-width: hypot(1, 1) = 1.41; coloured where it excludes 0
    assert "title='95% interval excludes 0'>+2.5 <small>±1.4</small>" in tuned_row
    assert "title='95% interval excludes 0'>-3.0 <small>±1.4</small>" in tuned_row
    assert "title='95% interval includes 0'>±0.0 <small>±1.4</small>" in tuned_row


def test_table_1_marks_a_delta_only_when_its_interval_excludes_zero(tmp_path):
    """Danish: +10 with half-width sqrt(2² + 2²) = 2.83, marked. German: the mean of +3 and +1 over two datasets,
    half-width sqrt(3² + 3² + 4² + 4²) / 2 = 3.54, so +2.0 is not marked. English: no half-width for the
    adapter's score (one iteration), so no interval and no mark."""
    from workflow_scripts.stages.report.euroeval import euroeval_deltas, euroeval_table_html

    base = euroeval_file(
        tmp_path,
        MODEL,
        {("da", "d1"): 50.0, ("de", "e1"): 50.0, ("de", "e2"): 40.0, ("en", "f1"): 70.0},
        {("da", "d1"): 2.0, ("de", "e1"): 3.0, ("de", "e2"): 4.0, ("en", "f1"): 1.0},
    )
    tuned = euroeval_file(
        tmp_path,
        ADAPTER,
        {("da", "d1"): 60.0, ("de", "e1"): 53.0, ("de", "e2"): 41.0, ("en", "f1"): 75.0},
        {("da", "d1"): 2.0, ("de", "e1"): 3.0, ("de", "e2"): 4.0, ("en", "f1"): None},
    )
    frame = euroeval_frame([base, tuned])
    deltas, halves = euroeval_deltas(frame)
    row = (MODEL, "Paired DPO (μ−2σ, prompt: chosen)", "multi")
    assert deltas.loc[row].to_dict() == {"da": 10.0, "de": 2.0, "en": 5.0}
    assert halves.loc[row, "da"] == pytest.approx(8**0.5) and halves.loc[row, "de"] == pytest.approx(50**0.5 / 2)
    assert np.isnan(halves.loc[row, "en"]) and halves.loc[(MODEL, "base (absolute)", "-")].isna().all()
    html = euroeval_table_html(deltas, halves, frame)
    tuned_row = html.split("<tr><td>")[2]
    assert "title='95% interval excludes 0'>+10.0 <small>±2.8</small>" in tuned_row
    assert "title='95% interval includes 0'>+2.0 <small>±3.5</small>" in tuned_row
    assert "title='no interval'>+5.0 <small>(±?)</small>" in tuned_row
    assert "coloured only where its interval excludes 0" in html


def test_held_out_table_says_when_nothing_is_held_out(tmp_path):
    base = euroeval_file(tmp_path, MODEL, {("da", "d1"): 40.0})
    assert "No held-out languages" in held_out_table_html(euroeval_frame([base]), [])


def test_spearman_is_the_rank_correlation():
    assert spearman(np.array([1.0, 2.0, 3.0, 4.0]), np.array([10.0, 20.0, 35.0, 100.0])) == pytest.approx(1.0)
    assert spearman(np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])) == pytest.approx(-1.0)
    assert np.isnan(spearman(np.array([1.0, 2.0]), np.array([1.0, 2.0])))  # too few pairs
    assert np.isnan(spearman(np.array([1.0, 2.0, 3.0]), np.array([5.0, 5.0, 5.0])))  # a constant side


def score_file(path, rows):
    table = pa.table(
        {
            "prompt_id": [r[0] for r in rows],
            "language": [r[1] for r in rows],
            "reward": [r[2] for r in rows],
            "status": [r[3] for r in rows],
        }
    )
    pq.write_table(table, path)
    return path


def test_reference_percentile_counts_samples_below_and_ties_half(tmp_path):
    samples = score_file(
        tmp_path / "s.parquet",
        [("p1", "da", 1.0, "scored"), ("p1", "da", 2.0, "scored"), ("p1", "da", 3.0, "scored"), ("p1", "da", 9.0, "skipped"),
         ("p2", "da", 5.0, "scored"), ("p2", "da", 5.0, "scored")],
    )  # fmt: skip
    references = pd.DataFrame({"prompt_id": ["p1", "p2"], "language": ["da", "da"], "reward": [2.0, 6.0]})
    out = reference_percentiles(samples, references).set_index("prompt_id")["percentile"]
    # p1: 1.0 below, 2.0 tied (half), 3.0 above, the skipped sample left out -> 1.5 of 3; p2: both below
    assert out["p1"] == pytest.approx(50.0) and out["p2"] == pytest.approx(100.0)


def test_reward_consistency_plot_draws_both_panels(tmp_path):
    rng = np.random.default_rng(0)
    refs, scores = [], []
    for lang in ("en", "da"):
        rows = [(f"p{i}", lang, float(i + rng.normal(0, 0.1)), "scored") for i in range(6)]
        refs.append(score_file(tmp_path / f"ref-{lang}.parquet", rows))
        samples = [(f"p{i}", lang, float(rng.normal(i, 1)), "scored") for i in range(6) for _ in range(4)]
        (tmp_path / "gen" / lang).mkdir(parents=True)
        scores.append(score_file(tmp_path / "gen" / f"{lang}.parquet", samples))
    out = tmp_path / "consistency.png"
    reward_consistency_plot(refs, scores, "en", out)
    import matplotlib.image

    image = matplotlib.image.imread(out)
    assert image.shape[1] > 1000 and image.std() > 0.05


def test_the_baseline_table_compares_paired_dpo_with_icr_and_mapo_in_their_languages(tmp_path):
    """§4.1: base, Paired DPO (mono and multi), ICR and MAPO of one policy, in de/en/es/fr only; Max-R and Danish
    are Table 1's, not this table's; without a baseline there is one line, no table."""
    from workflow_scripts.stages.report.euroeval import baseline_comparison_html, euroeval_deltas

    langs = ("da", "de", "en", "es", "fr")
    files = [euroeval_file(tmp_path, MODEL, {(lang, f"{lang}1"): 50.0 for lang in langs})]
    tuned = {
        "m/m/multi-de+en+es+fr/dpo-mean_minus_2sigma-chosen": 4.0,
        "m/m/mono-de/dpo-mean_minus_2sigma-chosen": 3.0,
        "m/m/multi-de+en+es+fr/maxr": 1.0,
        "m/m@samples=10/multi-de+en+es+fr/icr": 2.0,
        "m/m/multi-de+es+fr/mapo": -1.0,
    }
    for subject, delta in tuned.items():
        files.append(euroeval_file(tmp_path, subject, {(lang, f"{lang}1"): 50.0 + delta for lang in langs}))
    deltas, halves = euroeval_deltas(euroeval_frame(files))
    html = baseline_comparison_html(deltas, halves)
    assert "<th>de</th><th>en</th><th>es</th><th>fr</th></tr>" in html and "<th>da</th>" not in html
    rows = [row.split("</td>")[1].removeprefix("<td>") for row in html.split("<tr><td>")[1:]]
    assert rows == [
        "base (absolute)",
        "Paired DPO (μ−2σ)",
        "ICR [samples 10]",
        "MAPO",
        "Paired DPO (μ−2σ, prompt: chosen)",
    ], rows
    assert ">+2.0 <small>" in html and ">-1.0 <small>" in html and ">+1.0 <small>" not in html  # no Max-R
    without = euroeval_deltas(euroeval_frame(files[:2]))
    assert baseline_comparison_html(*without).startswith("<p class='note'>No experiment trains the ICR or MAPO")
