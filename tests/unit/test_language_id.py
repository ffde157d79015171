"""Language identification (fastText lid.176) on real text in several languages, close relatives included;
the step's table; the language filter of the pools (it drops exactly the off-language samples); and the
report's language section on a fixture whose off-language samples are known."""

import copy
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workflow_scripts.errors import UserError
from workflow_scripts.names import parse_dataset
from workflow_scripts.planning.config_checks import check_config
from workflow_scripts.planning.layout import LANGUAGE_ID
from workflow_scripts.planning.plan import experiment_trainings, report_inputs
from workflow_scripts.planning.specs.training import dataset_inputs, dataset_spec
from workflow_scripts.stages.generation import GENERATION_SCHEMA
from workflow_scripts.stages.language_id import LANGUAGE_ID_SCHEMA, identify, identify_file, requested_labels, window
from workflow_scripts.stages.pairs import LanguageFilter, build_dpo, build_maxr
from workflow_scripts.stages.scoring import SCORE_SCHEMA

from helpers import REPO, TEST_DATA, load_default_config


def default_config(change) -> dict:
    """The embedded default, changed, then validated (the schema fills in every default)."""
    from snakemake.utils import validate

    config = copy.deepcopy(load_default_config())
    change(config)
    validate(config, str(REPO / "schemas/config.schema.yaml"))
    return config


TEXTS = [json.loads(line) for line in (TEST_DATA / "language_id/texts.jsonl").read_text().splitlines()]
TEXT = {row["language"]: row["text"] for row in TEXTS}


@pytest.mark.parametrize("row", TEXTS, ids=[row["language"] for row in TEXTS])
def test_real_text_is_identified_as_its_language(row):
    found = identify([row["text"]], row["language"], 1000)
    assert found.language == [row["language"]] and found.in_requested == [True]
    assert found.requested_probability[0] >= found.probability[0] > 0.7


@pytest.mark.parametrize(
    "written, requested",
    [("da", "no"), ("no", "da"), ("sv", "da"), ("gl", "pt"), ("gl", "es"), ("pt", "gl"), ("es", "gl"), ("en", "da")],
)
def test_close_relatives_are_not_taken_for_the_requested_language(written, requested):
    found = identify([TEXT[written]], requested, 1000)
    assert found.language == [written] and found.in_requested == [False]
    assert found.requested_probability[0] < 0.5


def test_norwegian_counts_both_written_standards():
    assert requested_labels("no") == ("no", "nn") and requested_labels("nb") == ("no",)
    assert requested_labels("fo") is None  # lid.176 has no Faroese


def test_a_drift_into_another_language_is_seen_in_a_long_answer():
    drifting = " ".join([TEXT["da"]] * 6 + [TEXT["en"]] * 6)
    seen = window(drifting, 1000)
    assert len(seen) <= 1001 and seen.startswith(TEXT["da"][:100]) and seen.endswith(TEXT["en"][-100:])
    pure = identify([" ".join([TEXT["da"]] * 12)], "da", 1000).requested_probability[0]
    drift = identify([drifting], "da", 1000).requested_probability[0]
    assert pure > 0.85 and drift < pure - 0.2  # the probability splits between Danish and English


def test_empty_responses_and_unknown_languages_have_no_verdict():
    found = identify(["", " \n ", TEXT["da"]], "da", 1000)
    assert found.language[:2] == [None, None] and found.in_requested == [None, None, True]
    assert np.isnan(found.probability[:2]).all()
    unknown = identify([TEXT["da"]], "fo", 1000)
    assert unknown.language == ["da"] and unknown.in_requested == [None] and np.isnan(unknown.requested_probability[0])


# ---------------------------------------------------------------- a fixture with known off-language samples

# Danish and German pools of three prompts x four samples; the samples listed here are written in English,
# and the reward model (the fixture's rewards) prefers them, as a reward model trained on English may.
OFF_LANGUAGE = {("da", "p1", 0), ("da", "p1", 3), ("da", "p2", 1), ("de", "p1", 2), ("de", "p3", 0)}
ENGLISH = [
    "Sure. Start with short texts about topics you already know and look up the words you do not understand.",
    "Here is a clear answer in English: read a little every day, and after a few weeks it becomes much easier.",
]
NATIVE = {
    "da": [
        "Læs lidt hver dag, og begynd med korte tekster om emner, du allerede kender godt.",
        "Slå de ord op, som du ikke forstår, så bliver det hurtigt lettere at følge med.",
        "Efter nogle uger vil du genkende flere udtryk og forstå mere af samtalen.",
        "Det er en god idé at tale med andre, der også er ved at lære sproget.",
    ],
    "de": [
        "Lesen Sie jeden Tag ein wenig und beginnen Sie mit kurzen Texten über bekannte Themen.",
        "Schlagen Sie die Wörter nach, die Sie nicht verstehen, dann wird es schnell leichter.",
        "Nach einigen Wochen erkennen Sie immer mehr Ausdrücke und verstehen mehr vom Gespräch.",
        "Es ist eine gute Idee, mit anderen zu sprechen, die die Sprache ebenfalls lernen.",
    ],
}


def reward_of(lang, pid, sample):
    off = (lang, pid, sample) in OFF_LANGUAGE
    return 5.0 + sample * 0.1 if off else 1.0 + sample * 0.5


def write_fixture(directory: Path) -> dict:
    paths = {"generations": {}, "scores": {}, "language_id": {}}
    for lang in ("da", "de"):
        keys = [(pid, s) for pid in ("p1", "p2", "p3") for s in range(4)]
        responses = [ENGLISH[s % 2] if (lang, pid, s) in OFF_LANGUAGE else NATIVE[lang][s] + f" ({pid})" for pid, s in keys]
        n = len(keys)
        gen = pa.table(
            {
                "prompt_id": [pid for pid, _ in keys],
                "language": [lang] * n,
                "sample_index": pa.array([s for _, s in keys], pa.int32()),
                "prompt": [f"prompt {pid} in {lang}" for pid, _ in keys],
                "response": responses,
                "prompt_tokens": pa.array([5] * n, pa.int32()),
                "response_tokens": pa.array([20] * n, pa.int32()),
                "finish_reason": ["stop"] * n,
                "generator": ["fixture"] * n,
                "generator_identity": ["fixture"] * n,
                "temperature": [0.7] * n,
                "top_p": [1.0] * n,
                "max_tokens": pa.array([64] * n, pa.int32()),
                "seed": pa.array([1] * n, pa.int64()),
            },
            schema=GENERATION_SCHEMA,
        )
        scores = pa.table(
            {
                "prompt_id": [pid for pid, _ in keys],
                "language": [lang] * n,
                "sample_index": pa.array([s for _, s in keys], pa.int32()),
                "reward": [reward_of(lang, pid, s) for pid, s in keys],
                "status": ["scored"] * n,
                "skip_reason": pa.array([None] * n, pa.string()),
                "reward_tokens": pa.array([30] * n, pa.int32()),
                "reward_model": ["fixture"] * n,
                "reward_backend": ["fixture"] * n,
            },
            schema=SCORE_SCHEMA,
        )
        for kind, table in (("generations", gen), ("scores", scores)):
            paths[kind][lang] = str(directory / f"{kind}/{lang}.parquet")
            Path(paths[kind][lang]).parent.mkdir(parents=True, exist_ok=True)
            # two row groups, so that the identification step's workers share the file
            pq.write_table(table, paths[kind][lang], row_group_size=8)
        paths["language_id"][lang] = str(directory / f"language_id/{lang}.parquet")
        identify_file(paths["generations"][lang], paths["language_id"][lang], lang, 1000, workers=2)
    return paths


@pytest.fixture(scope="module")
def fixture(tmp_path_factory):
    return write_fixture(tmp_path_factory.mktemp("lid"))


def test_the_step_identifies_every_sample_keyed_like_the_scores(fixture, tmp_path):
    for lang in ("da", "de"):
        table = pq.read_table(fixture["language_id"][lang])
        assert table.schema == LANGUAGE_ID_SCHEMA
        scores = pq.read_table(fixture["scores"][lang])
        assert table.select(["prompt_id", "sample_index"]) == scores.select(["prompt_id", "sample_index"])
        off = {(lang, row["prompt_id"], row["sample_index"]) for row in table.to_pylist() if not row["in_requested_language"]}
        assert off == {key for key in OFF_LANGUAGE if key[0] == lang}
        assert set(table.column("identified_language").to_pylist()) == {lang, "en"}
    # one process gives the same table as two
    single = tmp_path / "single.parquet"
    identify_file(fixture["generations"]["da"], single, "da", 1000, workers=1)
    assert pq.read_table(single) == pq.read_table(fixture["language_id"]["da"])
    assert not list(tmp_path.glob(".*.tmp"))


def test_the_filter_drops_exactly_the_off_language_samples(fixture):
    scope = ["da", "de"]
    scores = {lang: fixture["scores"][lang] for lang in scope}
    generations = {lang: fixture["generations"][lang] for lang in scope}
    plain, plain_stats = build_dpo(scores, generations, scope, "mean_minus_2sigma", "chosen", "exclude", 1)
    filtered, stats = build_dpo(
        scores,
        generations,
        scope,
        "mean_minus_2sigma",
        "chosen",
        "exclude",
        1,
        LanguageFilter({lang: fixture["language_id"][lang] for lang in scope}, 0.5),
    )
    assert plain_stats["excluded_samples"] == {"samples": 24, "skipped": 0, "non_finite": 0}
    assert stats["excluded_samples"] == {"samples": 24, "skipped": 0, "non_finite": 0, "off_language": len(OFF_LANGUAGE)}
    assert stats["language_filter"] == {"min_probability": 0.5} and plain_stats["language_filter"] is None
    # Unfiltered, an English sample wins every pool that has one (p1, p3: the reward model prefers it); filtered,
    # no chosen or rejected response is off-language, and the pools are the in-language samples only.
    chosen = set(
        zip(
            plain.column("chosen_language").to_pylist(),
            plain.column("prompt_id").to_pylist(),
            plain.column("chosen_sample").to_pylist(),
        )
    )
    assert chosen & OFF_LANGUAGE
    for table in (filtered,):
        for side in ("chosen", "rejected"):
            keys = zip(
                table.column(f"{side}_language").to_pylist(),
                table.column("prompt_id").to_pylist(),
                table.column(f"{side}_sample").to_pylist(),
            )
            assert not set(keys) & OFF_LANGUAGE
    in_language = {
        pid: sum(1 for lang in scope for s in range(4) if (lang, pid, s) not in OFF_LANGUAGE) for pid in ("p1", "p2", "p3")
    }
    assert dict(zip(filtered.column("prompt_id").to_pylist(), filtered.column("pool_size").to_pylist())) == in_language
    # Max-R (best of n) the same way, one language at a time
    best, best_stats = build_maxr(
        {"da": scores["da"]},
        {"da": generations["da"]},
        ["da"],
        "exclude",
        LanguageFilter({"da": fixture["language_id"]["da"]}, 0.5),
    )
    assert best_stats["excluded_samples"]["off_language"] == 3
    assert all(
        ("da", pid, s) not in OFF_LANGUAGE
        for pid, s in zip(best.column("prompt_id").to_pylist(), best.column("sample_index").to_pylist())
    )


def test_the_filter_threshold_decides_what_counts_as_off_language(fixture):
    scope = ["da"]
    args = ({"da": fixture["scores"]["da"]}, {"da": fixture["generations"]["da"]}, scope, "exclude")
    keep_all = build_maxr(*args, LanguageFilter({"da": fixture["language_id"]["da"]}, 0.0))[1]
    assert keep_all["excluded_samples"]["off_language"] == 0
    drop_all = build_maxr(*args, LanguageFilter({"da": fixture["language_id"]["da"]}, 1.01))[1]
    assert drop_all["excluded_samples"]["off_language"] == 12 and drop_all["examples"] == 0


def test_a_scored_sample_without_an_identified_language_is_an_error_naming_the_table(fixture, tmp_path):
    table = pq.read_table(fixture["language_id"]["da"])
    stale = tmp_path / "stale.parquet"
    pq.write_table(table.slice(0, table.num_rows - 1), stale)
    with pytest.raises(UserError) as err:
        build_maxr(
            {"da": fixture["scores"]["da"]},
            {"da": fixture["generations"]["da"]},
            ["da"],
            "exclude",
            LanguageFilter({"da": str(stale)}, 0.5),
        )
    assert err.value.file == str(stale) and "1 scored sample(s) have no identified language, e.g. prompt p3 sample 3" in str(
        err.value
    )


def test_the_report_section_counts_what_the_fixture_holds(fixture, tmp_path):
    from workflow_scripts.stages.report.language import language_plot, language_summary, language_table_html

    scope = ["da", "de"]
    pair_dir = tmp_path / "datasets/fixture/multi-da+de"
    pair_dir.mkdir(parents=True)
    scores = {lang: fixture["scores"][lang] for lang in scope}
    generations = {lang: fixture["generations"][lang] for lang in scope}
    pairs, _ = build_dpo(scores, generations, scope, "mean_minus_2sigma", "chosen", "exclude", 1)
    pq.write_table(pairs, pair_dir / "dpo-mean_minus_2sigma-chosen.parquet")
    # the report reads results/<kind>/<samples>/<lang>.parquet; the fixture's source is called "fixture"
    ids, score_files = [], []
    for lang in scope:
        for kind, out in (("language_id", ids), ("scores", score_files)):
            path = tmp_path / kind / "fixture" / f"{lang}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(Path(fixture[kind][lang]).read_bytes())
            out.append(str(path))
    summary = language_summary(ids, score_files, [str(pair_dir / "dpo-mean_minus_2sigma-chosen.parquet")])
    rows = {row["language"]: row for row in summary.rows}
    assert rows["da"]["in_requested"] == 9 and rows["da"]["judged"] == 12 and rows["de"]["in_requested"] == 10
    assert summary.composition[("fixture", "da")] == {"da": 9, "en": 3}
    # the chosen responses: every pool with an English sample chose one (English wins on reward)
    pair_rows = pairs.to_pylist()
    chosen_off = sum((r["chosen_language"], r["prompt_id"], r["chosen_sample"]) in OFF_LANGUAGE for r in pair_rows)
    chosen_da = [r for r in pair_rows if r["chosen_language"] == "da"]
    assert rows["da"]["chosen_judged"] == len(chosen_da)
    assert rows["da"]["chosen_in_requested"] + rows["de"]["chosen_in_requested"] == len(pair_rows) - chosen_off
    # reward gap: Danish p1 and p2 have both kinds; in-language mean minus English mean, by hand
    gaps = sorted(summary.reward_gaps[("fixture", "da")])
    by_hand = []
    for pid in ("p1", "p2"):
        on = [reward_of("da", pid, s) for s in range(4) if ("da", pid, s) not in OFF_LANGUAGE]
        off = [reward_of("da", pid, s) for s in range(4) if ("da", pid, s) in OFF_LANGUAGE]
        by_hand.append(np.mean(on) - np.mean(off))
    assert gaps == pytest.approx(sorted(by_hand))
    # the multilingual matrix by identified language shows English where the requested one cannot
    assert "en" in summary.identified_matrix.index and "en" not in summary.requested_matrix.index
    assert summary.identified_matrix.to_numpy().sum() == summary.requested_matrix.to_numpy().sum() == len(pair_rows)
    language_plot(summary, 0.5, tmp_path / "language.png")
    assert (tmp_path / "language.png").stat().st_size > 20_000
    page = language_table_html(summary)
    assert "75.0%" in page and "en 25.0%" in page


# ---------------------------------------------------------------- planning


def test_a_filtered_experiment_names_its_datasets_and_reads_the_language_tables():
    def change(config):
        config["pairs"] = {"language_filter": {"min_probability": 0.6}}
        config["experiments"]["filtered"] = {
            **config["experiments"]["main"],
            "language_filter": True,
            "methods": ["dpo", "maxr"],
            "regimes": ["mono"],
        }

    config = default_config(change)
    trainings = experiment_trainings(config, config["experiments"]["filtered"])
    assert {t.dataset for t in trainings} == {"dpo-mean_minus_2sigma-chosen+in_language", "maxr+in_language"}
    assert parse_dataset("maxr+in_language") == {"method": "maxr", "language_filter": True}
    assert dataset_inputs("smollm2-135m", "mono-da", "maxr+in_language")["language_id"] == [
        LANGUAGE_ID.format(samples="smollm2-135m", lang="da")
    ]
    assert "language_id" not in dataset_inputs("smollm2-135m", "mono-da", "maxr")
    assert dataset_spec(config, "mono-da", "maxr+in_language").min_language_probability == 0.6
    assert dataset_spec(config, "mono-da", "maxr").min_language_probability is None
    config["evaluation"]["report"] = True
    assert LANGUAGE_ID.format(samples="smollm2-135m", lang="de") in report_inputs(config)["language_id"]
    with pytest.raises(UserError):
        parse_dataset("sft+in_language")


def test_the_filter_refuses_a_language_lid176_cannot_identify():
    def change(config):
        config["languages"].append("fo")
        config["prompts"]["translations"]["fo"] = config["prompts"]["translations"]["da"]
        config["pairs"] = {"language_filter": {"enabled": True}}

    config = default_config(change)
    with pytest.raises(UserError) as err:
        check_config(config, REPO)
    assert err.value.field == "experiments.main.language_filter" and "['fo']" in str(err.value)
