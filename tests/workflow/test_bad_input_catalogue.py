"""Every bad input of the catalogue, through the real Snakemake command line.

A rejected input must fail with one clear message naming the file and the field, without a traceback,
and leave no output (not even a partial one) behind. Inputs the method tolerates (non-finite rewards,
empty responses, unparseable judge verdicts) must be excluded and counted, never guessed.

Data cases put a bad table where an upstream step would have written its output and run only the
consuming rule (`--allowed-rules`), so each costs one real job, not a whole pipeline.
"""

import copy
import json
import math
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helpers import MODEL, load_default_config, planned_jobs, snakemake, write_config

GENERATIONS = f"results/generations/{MODEL}/da.parquet"
SCORES = f"results/scores/{MODEL}/da.parquet"
SCORE_SHARD = f"results/scores/{MODEL}/da/shard-0-of-1.parquet"
MAXR = f"results/datasets/{MODEL}/mono-da/maxr.parquet"
ADAPTER = f"results/adapters/{MODEL}/{MODEL}/mono-da/maxr"
ADAPTER_EUROEVAL = f"results/euroeval/{MODEL}/{MODEL}/mono-da/maxr.json"  # merges the adapter first


@pytest.fixture(scope="module")
def workspace(seeded_workspace, tmp_path_factory):
    """A workspace with the real base model (the jobs below read it)."""
    return seeded_workspace(tmp_path_factory.mktemp("catalogue"))


@pytest.fixture
def ws(workspace):
    """The shared workspace, with whatever a case put under results/ (besides the model) removed after it."""
    yield workspace
    for path in (workspace / "results").iterdir():
        if path.name != "models":
            shutil.rmtree(path)


def config_with(ws, change=None, name="case.yaml", preload=False):
    config = copy.deepcopy(load_default_config())
    # Most cases are one short job that fails before any model loads: a preloaded interpreter would cost more to
    # start than it saves (`preload` for the cases that run a model; both paths give the same errors:
    # tests/workflow/test_forkserver.py).
    config["forkserver"] = preload
    if change:
        change(config)
    return write_config(ws, config, name)


def run(ws, target, config, *allowed_rules):
    extra = ["--allowed-rules", *allowed_rules] if allowed_rules else []
    return snakemake(ws, target, "--cores", "2", "--configfile", str(config), *extra)


def leftovers(ws):
    return [p for p in (ws / "results").rglob("*") if p.name.endswith((".tmp", ".parts"))]


def assert_clear_failure(ws, result, file, field, *, output=None, says=""):
    """One error line that names the file (None: no file is at fault) and the field; no traceback; no
    output, whole or partial."""
    text = result.stdout + result.stderr
    assert result.returncode != 0, text[-3000:]
    errors = [line for line in text.splitlines() if "[croco] ERROR in rule" in line or line.startswith("Invalid config [")]
    assert errors, text[-3000:]
    assert file is None or f"file {file}" in errors[0], errors[0]
    assert f"field '{field}'" in errors[0] and says in errors[0], errors[0]
    assert "Traceback" not in text, text[-5000:]
    if output:
        assert not (ws / output).exists(), f"{output} was left behind"
    assert leftovers(ws) == []


def write(ws, path, table):
    (ws / path).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, ws / path)


def generations(responses: dict[str, list[str]], **override) -> pa.Table:
    """A Danish generations table with the columns the generate step writes."""
    from workflow_scripts.stages.generation import GENERATION_SCHEMA

    rows = [(pid, i, text) for pid, texts in responses.items() for i, text in enumerate(texts)]
    n = len(rows)
    columns = {
        "prompt_id": [r[0] for r in rows],
        "language": ["da"] * n,
        "sample_index": [r[1] for r in rows],
        "prompt": [f"Spørgsmål {r[0]}: hvad er hovedstaden i Danmark?" for r in rows],
        "response": [r[2] for r in rows],
        "prompt_tokens": [20] * n,
        "response_tokens": [8] * n,
        "finish_reason": ["stop"] * n,
        "generator": [MODEL] * n,
        "generator_identity": ["test"] * n,
        "temperature": [0.7] * n,
        "top_p": [0.95] * n,
        "max_tokens": [32] * n,
        "seed": list(range(n)),
    }
    table = pa.table(columns, schema=GENERATION_SCHEMA)
    for name, values in override.items():
        table = table.drop_columns([name]) if values is None else table.set_column(table.column_names.index(name), name, values)
    return table


def scores(rewards: dict[str, list[float]], **override) -> pa.Table:
    from workflow_scripts.stages.scoring import SCORE_SCHEMA

    rows = [(pid, i, r) for pid, values in rewards.items() for i, r in enumerate(values)]
    n = len(rows)
    table = pa.table(
        {
            "prompt_id": [r[0] for r in rows],
            "language": ["da"] * n,
            "sample_index": [r[1] for r in rows],
            "reward": [r[2] for r in rows],
            "status": ["scored"] * n,
            "skip_reason": [None] * n,
            "reward_tokens": [30] * n,
            "reward_model": [MODEL] * n,
            "reward_backend": ["generative"] * n,
        },
        schema=SCORE_SCHEMA,
    )
    for name, values in override.items():
        table = table.drop_columns([name]) if values is None else table.set_column(table.column_names.index(name), name, values)
    return table


REWARDS = {"p1": [0.5, 2.0, -1.0, 1.0], "p2": [0.1, 0.2, 0.3, 3.0]}
RESPONSES = {pid: [f"Svar {i} på {pid}: København." for i in range(len(r))] for pid, r in REWARDS.items()}


# ---------------------------------------------------------------- config: rejected before any job runs


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda c: c.update(sampels=3), "sampels"),  # unknown key
        (lambda c: c["generation"].update(temprature=0.5), "generation.temprature"),  # unknown nested key
        (lambda c: c.pop("reward"), "reward"),  # missing required key
        (lambda c: c.update(languages=["en", "da", "xx"]), "languages[2]"),  # unknown language code
        (
            lambda c: c["models"].update(other={"path": "/nonexistent/model"}),
            "models.other.path",
        ),  # model path that does not exist
    ],
    ids=["unknown key", "unknown nested key", "missing key", "unknown language code", "model path that does not exist"],
)
def test_bad_config_is_rejected_before_any_job(ws, change, field):
    config = config_with(ws, change)
    result = snakemake(ws, "-n", "--cores", "1", "--configfile", str(config))
    assert_clear_failure(ws, result, config.name, field, says="Invalid config")
    assert planned_jobs(result) == []


def test_hub_model_that_cannot_be_reached(ws):
    """A Hub id on a node without internet (here: HF_HUB_OFFLINE, as the Hub is out of reach anyway): an
    unpinned id cannot be resolved to a commit, a pinned one cannot be loaded; each is one error with the way out."""
    hub_id = "HuggingFaceTB/SmolLM2-135M-Instruct"
    target = f"results/generations/{MODEL}/da/shard-0-of-1.parquet"
    offline = {"HF_HUB_OFFLINE": "1"}
    config = config_with(ws, lambda c: c["models"].update({MODEL: {"hub": hub_id}}))
    result = snakemake(ws, target, "--cores", "1", "--configfile", str(config), env=offline)
    says = f"cannot resolve {hub_id} at revision main: the Hugging Face Hub is out of reach"
    assert_clear_failure(ws, result, None, f"models.{MODEL}.revision", output=target, says=says)
    assert f"huggingface-cli download {hub_id}" in result.stderr

    commit = "a" * 40
    config = config_with(ws, lambda c: c["models"].update({MODEL: {"hub": hub_id, "revision": commit}}))
    result = snakemake(ws, target, "--cores", "1", "--configfile", str(config), env=offline)
    says = f"cannot load model '{hub_id}' at revision {commit}: We couldn't connect"
    assert_clear_failure(ws, result, None, "models", output=target, says=says)
    assert "HF_HUB_OFFLINE=1" in result.stderr


# ---------------------------------------------------------------- prompt files


def test_empty_prompt_file(ws):
    (ws / "data/prompts/empty.jsonl").write_text("")
    config = config_with(ws, lambda c: c["prompts"].update(file="data/prompts/empty.jsonl"))
    result = run(ws, "results/prompts/en.parquet", config)
    assert_clear_failure(
        ws,
        result,
        "data/prompts/empty.jsonl",
        "prompts.file",
        output="results/prompts/en.parquet",
        says="the prompt file is empty",
    )


def test_duplicate_prompt_ids(ws):
    lines = (ws / "data/prompts/en.jsonl").read_text().splitlines()
    (ws / "data/prompts/dupes.jsonl").write_text("\n".join(lines[:5] + lines[2:3]) + "\n")
    config = config_with(ws, lambda c: c["prompts"].update(file="data/prompts/dupes.jsonl"))
    result = run(ws, "results/prompts/en.parquet", config)
    assert_clear_failure(
        ws,
        result,
        "data/prompts/dupes.jsonl",
        "prompt_id",
        output="results/prompts/en.parquet",
        says=f"duplicate prompt ids: {json.loads(lines[2])['prompt_id']}",
    )


def test_language_missing_prompts_the_source_has(ws):
    lines = (ws / "data/translations/da.jsonl").read_text().splitlines()
    (ws / "data/translations/da-short.jsonl").write_text("\n".join(lines[:3]) + "\n")
    config = config_with(ws, lambda c: c["prompts"]["translations"].update(da="data/translations/da-short.jsonl"))
    result = run(ws, "results/prompts/da.parquet", config)
    assert_clear_failure(
        ws,
        result,
        "data/translations/da-short.jsonl",
        "prompt_id",
        output="results/prompts/da.parquet",
        says="language 'da' lacks 21 prompt(s) the source has",
    )


def test_translation_file_that_is_not_utf8(ws):
    lines = (ws / "data/translations/da.jsonl").read_bytes().splitlines()
    lines[2] = lines[2].replace("æ".encode(), b"\xe6", 1) if "æ".encode() in lines[2] else lines[2][:-2] + b"\xe6" + lines[2][-2:]
    (ws / "data/translations/da-latin1.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    config = config_with(ws, lambda c: c["prompts"]["translations"].update(da="data/translations/da-latin1.jsonl"))
    result = run(ws, "results/prompts/da.parquet", config)
    assert_clear_failure(
        ws,
        result,
        "data/translations/da-latin1.jsonl",
        "encoding",
        output="results/prompts/da.parquet",
        says="line 3 is not UTF-8 (byte 0xe6",
    )


# ---------------------------------------------------------------- generations and scores tables


@pytest.mark.parametrize(
    "override, field, says",
    [
        ({"response": None}, "response", "missing column"),
        ({"sample_index": pa.array(["0"] * 8)}, "sample_index", "expected integer values, found string"),
    ],
    ids=["missing column", "wrong type"],
)
def test_bad_generations_table(ws, override, field, says):
    write(ws, GENERATIONS, generations(RESPONSES, **override))
    result = run(ws, SCORE_SHARD, config_with(ws), "score")
    assert_clear_failure(ws, result, GENERATIONS, field, output=SCORE_SHARD, says=says)


@pytest.mark.parametrize(
    "override, field, says",
    [
        ({"reward": None}, "reward", "missing column"),
        ({"reward": pa.array(["high"] * 8)}, "reward", "expected float values, found string"),
        ({"sample_index": pa.array([0.0] * 8)}, "sample_index", "expected integer values, found double"),
    ],
    ids=["missing column", "wrong type", "wrong index type"],
)
def test_bad_scores_table(ws, override, field, says):
    write(ws, GENERATIONS, generations(RESPONSES))
    write(ws, SCORES, scores(REWARDS, **override))
    result = run(ws, MAXR, config_with(ws), "preference_dataset")
    assert_clear_failure(ws, result, SCORES, field, output=MAXR, says=says)
    assert not (ws / MAXR.replace(".parquet", ".stats.json")).exists()


def test_non_finite_rewards_are_excluded_and_counted_or_rejected_as_configured(ws):
    write(ws, GENERATIONS, generations(RESPONSES))
    write(ws, SCORES, scores({"p1": [0.5, math.nan, -1.0, 1.0], "p2": [0.1, math.inf, 0.3, -math.inf]}))
    dpo = MAXR.replace("maxr", "dpo-min-chosen")
    result = run(ws, dpo, config_with(ws), "preference_dataset")
    assert result.returncode == 0, result.stderr[-3000:]
    stats = json.loads((ws / dpo.replace(".parquet", ".stats.json")).read_text())
    assert stats["excluded_samples"]["non_finite"] == 3 and stats["pairs"] == 2
    pairs = pq.read_table(ws / dpo).to_pylist()
    assert {(p["prompt_id"], p["chosen_reward"], p["rejected_reward"]) for p in pairs} == {("p1", 1.0, -1.0), ("p2", 0.3, 0.1)}
    (ws / dpo).unlink()
    (ws / dpo.replace(".parquet", ".stats.json")).unlink()
    result = run(ws, dpo, config_with(ws, lambda c: c["reward"].update(non_finite="error")), "preference_dataset")
    assert_clear_failure(ws, result, SCORES, "reward", output=dpo, says="non-finite")


def test_generations_with_a_duplicated_sample(ws):
    table = generations(RESPONSES)
    write(ws, GENERATIONS, pa.concat_tables([table, table.slice(2, 1)]))  # sample 2 of p1 twice
    result = run(ws, SCORES, config_with(ws), "score", "gather_scores")
    assert_clear_failure(
        ws,
        result,
        GENERATIONS,
        "prompt_id, language, sample_index",
        output=SCORES,
        says="1 key(s) occur more than once, e.g. prompt_id=p1, language=da, sample_index=2 (2 rows)",
    )


def test_scores_with_a_duplicated_sample(ws):
    write(ws, GENERATIONS, generations(RESPONSES))
    table = scores(REWARDS)
    write(ws, SCORES, pa.concat_tables([table, table.slice(5, 1)]))  # sample 1 of p2 twice
    result = run(ws, MAXR, config_with(ws), "preference_dataset")
    assert_clear_failure(
        ws,
        result,
        SCORES,
        "prompt_id, sample_index",
        output=MAXR,
        says="1 sample(s) are scored more than once, e.g. prompt p2 sample 1",
    )


# ---------------------------------------------------------------- the real reward model on empty responses


def test_empty_responses_are_skipped_and_counted_never_scored(ws):
    responses = {"p1": ["København er Danmarks hovedstad.", "", "   \n", "Det er København."]}
    write(ws, GENERATIONS, generations(responses))
    result = run(ws, SCORES, config_with(ws, preload=True), "score", "gather_scores")
    assert result.returncode == 0, result.stderr[-3000:]
    table = pq.read_table(ws / SCORES).to_pandas()
    assert table.status.tolist() == ["scored", "skipped", "skipped", "scored"]
    assert table.skip_reason.tolist()[1:3] == ["empty response", "empty response"]
    assert table.reward[[1, 2]].isna().all() and table.reward[[0, 3]].notna().all()
    log = (ws / f"logs/score/{MODEL}/da/shard-0-of-1.log").read_text()
    assert "scored 2 samples, 2 skipped" in log


def test_empty_responses_are_scored_under_the_authors_protocol(ws):
    """reward.empty_responses: score (the paper preset): the authors scored every sample that fit."""
    responses = {"p1": ["København er Danmarks hovedstad.", "", "Det er København."]}
    write(ws, GENERATIONS, generations(responses))
    config = config_with(ws, lambda c: c["reward"].update(empty_responses="score"), preload=True)
    result = run(ws, SCORES, config, "score", "gather_scores")
    assert result.returncode == 0, result.stderr[-3000:]
    table = pq.read_table(ws / SCORES).to_pandas()
    assert table.status.tolist() == ["scored"] * 3 and table.reward.map(math.isfinite).all()


# ---------------------------------------------------------------- the paper's corpus sample


def test_corpus_without_the_field_to_stratify_by(ws):
    rows = [
        {
            "id": f"c{i}",
            "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}],
            "source_dataset": "x",
        }
        for i in range(4)
    ]
    (ws / "corpus.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    config = config_with(
        ws,
        lambda c: c.update(prompts={"sample": {"file": "corpus.jsonl", "size": 2}, "translations": c["prompts"]["translations"]}),
    )
    result = run(ws, "results/source_prompts/sample.parquet", config)
    assert_clear_failure(
        ws, result, "corpus.jsonl", "domain", output="results/source_prompts/sample.parquet", says="missing column"
    )


# ---------------------------------------------------------------- EuroEval in another environment


def test_euroeval_interpreter_that_does_not_exist(ws):
    """Under the demo's `batch: scope`: the base model's batch job fails, and neither file is written."""
    config = config_with(ws, lambda c: c["evaluation"]["euroeval"].update(python=".venv-euroeval/bin/python"))
    target = f"results/euroeval/{MODEL}.json"
    result = run(ws, target, config, "euroeval_batch", "euroeval")
    assert_clear_failure(
        ws, result, None, "evaluation.euroeval.python", output=target, says="no Python interpreter at .venv-euroeval/bin/python"
    )
    assert not (ws / f"results/euroeval-batches/{MODEL}.json").exists()


# ---------------------------------------------------------------- adapters


def test_adapter_directory_without_its_config(ws):
    (ws / ADAPTER).mkdir(parents=True)
    (ws / ADAPTER / "adapter_model.safetensors").write_bytes(b"")
    # one job for this adapter alone (a batch would also need its siblings' adapters)
    result = run(ws, ADAPTER_EUROEVAL, config_with(ws, lambda c: c["evaluation"]["euroeval"].update(batch="subject")), "euroeval")
    assert_clear_failure(
        ws, result, ADAPTER, "adapter_config.json", output=ADAPTER_EUROEVAL, says="is not a LoRA adapter directory"
    )
    assert not list((ws / "results/euroeval").rglob("*.merged-model")), "a merged copy was left behind"


# ---------------------------------------------------------------- the m-ArenaHard judge


def test_unparseable_judge_outputs_are_counted_never_guessed(ws):
    """The real judge, given one token to answer in, cannot write a verdict ([[1]], [[2]], [[T]])."""
    arena = load_default_config()["evaluation"]["arena"]
    comparison = arena["comparisons"]["multi-maxr-vs-base"]
    prompts = ["Hvad er 2 + 2?", "Nævn en dansk by.", "Hvad hedder Danmarks hovedstad?"]
    for subject, answers in [
        (comparison["model"], ["4", "Aarhus", "København"]),
        (comparison["baseline"], ["fire", "Odense", "Det ved jeg ikke."]),
    ]:
        write(
            ws,
            f"results/arena/answers/{subject}/da.parquet",
            pa.table(
                {
                    "prompt_id": ["a1", "a2", "a3"],
                    "language": ["da"] * 3,
                    "category": ["demo"] * 3,
                    "subcategory": ["demo"] * 3,
                    "prompt": prompts,
                    "answer": answers,
                    "answer_tokens": pa.array([len(a) for a in answers], pa.int32()),
                    "finish_reason": ["stop"] * 3,
                    "subject": [subject] * 3,
                }
            ),
        )

    def generate_one_token(c):
        c["evaluation"]["arena"]["judge"].update(mode="generate", max_tokens=1)
        c["evaluation"]["arena"]["languages"] = ["da"]  # the judge job judges every arena language

    target = "results/arena/winrates/multi-maxr-vs-base/da.json"
    result = run(ws, target, config_with(ws, generate_one_token, preload=True), "arena_judge", "arena_winrate")
    assert result.returncode == 0, result.stderr[-3000:]
    judgments = pq.read_table(ws / "results/arena/judgments/multi-maxr-vs-base/da.parquet").to_pandas()
    assert len(judgments) == 6  # 3 prompts, both orders
    assert judgments.judge_output.str.len().gt(0).all()
    assert judgments.verdict.isna().all() and judgments.outcome.isna().all()
    overall = json.loads((ws / target).read_text())["overall"]
    assert overall["unparseable"] == 6 and overall["games"] == 0
    assert overall["wins"] == overall["ties"] == overall["losses"] == 0
    assert overall["win_rate"] is None and overall["lc_win_rate"] is None
    assert "6 unparseable" in (ws / "logs/arena_winrate/multi-maxr-vs-base/da.log").read_text()


# ---------------------------------------------------------------- beyond the inputs: corrupt artifacts, disagreeing tables,
# lengths, the output directory, a killed writer's leftovers

ARENA_SUBJECT = f"{MODEL}/{MODEL}/multi-da+de+en/dpo-mean_minus_2sigma-chosen"  # the demo's multi-dpo-vs-base model
ARENA_ADAPTER = f"results/adapters/{ARENA_SUBJECT}"
ARENA_ANSWERS = f"results/arena/answers/{ARENA_SUBJECT}/da.parquet"


def truncated_adapter(ws, directory: str) -> str:
    """An adapter directory whose weights were cut short (a full disk, an interrupted copy)."""
    import torch
    from safetensors.torch import save_file

    (ws / directory).mkdir(parents=True, exist_ok=True)
    (ws / directory / "adapter_config.json").write_text('{"peft_type": "LORA", "r": 16}')
    weights = ws / directory / "adapter_model.safetensors"
    save_file({"base_model.model.lm_head.lora_A.weight": torch.zeros(16, 64)}, weights)
    weights.write_bytes(weights.read_bytes()[:200])
    return f"{directory}/adapter_model.safetensors"


def test_truncated_adapter_weights_are_named_before_euroeval_loads_anything(ws):
    weights = truncated_adapter(ws, ADAPTER)
    result = run(ws, ADAPTER_EUROEVAL, config_with(ws, lambda c: c["evaluation"]["euroeval"].update(batch="subject")), "euroeval")
    assert_clear_failure(ws, result, weights, "adapter_model.safetensors", output=ADAPTER_EUROEVAL, says="truncated or corrupt")
    assert "EuroEval runs in" not in result.stdout + result.stderr


@pytest.mark.parametrize("fault", ["no adapter_config.json", "truncated weights"])
def test_a_bad_adapter_is_named_before_the_arena_engine_starts(ws, fault):
    if fault == "truncated weights":
        file, field, says = truncated_adapter(ws, ARENA_ADAPTER), "adapter_model.safetensors", "truncated or corrupt"
    else:
        (ws / ARENA_ADAPTER).mkdir(parents=True)
        file, field, says = ARENA_ADAPTER, "adapter_config.json", "is not a LoRA adapter directory"
    result = run(ws, ARENA_ANSWERS, config_with(ws), "arena_prompts", "arena_answers")
    assert_clear_failure(ws, result, file, field, output=ARENA_ANSWERS, says=says)


def test_a_local_model_whose_config_does_not_describe_a_model(ws):
    (ws / "not-a-model").mkdir(exist_ok=True)
    (ws / "not-a-model/config.json").write_text('{"hidden_size": 64}')
    result = run(ws, "results/prompts/en.parquet", config_with(ws, lambda c: c["models"].update(broken={"path": "not-a-model"})))
    assert_clear_failure(ws, result, None, "models.broken.path", says="does not describe a model (no model_type)")
    assert "not-a-model/config.json" in result.stderr


def test_scores_of_prompts_the_generations_lack(ws):
    write(ws, GENERATIONS, generations({"p1": RESPONSES["p1"]}))  # the generations lost p2
    write(ws, SCORES, scores(REWARDS))
    result = run(ws, MAXR, config_with(ws), "preference_dataset")
    assert_clear_failure(
        ws, result, GENERATIONS, "prompt_id, sample_index", output=MAXR, says="are not in the generations, e.g. prompt p2"
    )


def test_a_translation_holding_a_prompt_the_source_lacks(ws):
    lines = (ws / "data/translations/da.jsonl").read_text().splitlines()
    extra = json.dumps({"prompt_id": "not-in-english", "prompt": "Ekstra", "reference": "Ekstra"}, ensure_ascii=False)
    (ws / "data/translations/da-extra.jsonl").write_text("\n".join(lines + [extra]) + "\n")
    config = config_with(ws, lambda c: c["prompts"]["translations"].update(da="data/translations/da-extra.jsonl"))
    result = run(ws, "results/prompts/da.parquet", config)
    assert_clear_failure(
        ws,
        result,
        "data/translations/da-extra.jsonl",
        "prompt_id",
        output="results/prompts/da.parquet",
        says="1 prompt id(s) the source does not have: not-in-english",
    )


def test_prompts_longer_than_the_engines_context_are_named_before_it_starts(ws):
    config = config_with(ws, lambda c: c["engine"].update(max_model_len=16))
    shard = f"results/generations/{MODEL}/da/shard-0-of-1.parquet"
    result = run(ws, shard, config, "prompt_set", "generate")
    assert_clear_failure(
        ws, result, "results/prompts/da.parquet", "prompt", output=shard, says="do not fit engine.max_model_len=16"
    )


def test_conversations_too_long_to_translate_stop_the_translation_when_asked(ws):
    def change(c):
        c["languages"] = ["en", "da", "de"]
        c["prompts"]["translations"] = {"da": "data/translations/da.jsonl"}  # German is machine-translated
        c["translation"] = {"model": MODEL, "max_input_tokens": 8, "too_long": "error"}

    target = f"results/translations/{MODEL}/de.parquet"
    result = run(ws, target, config_with(ws, change), "prompt_set", "translate")
    assert_clear_failure(
        ws, result, "results/prompts/en.parquet", "translation.max_input_tokens", output=target, says="do not fit 8 tokens"
    )


@pytest.mark.parametrize("missing", ["id", "messages"])
def test_corpus_without_ids_or_messages(ws, missing):
    rows = [
        {
            "id": f"c{i}",
            "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}],
            "domain": "chat",
        }
        for i in range(4)
    ]
    (ws / "corpus.jsonl").write_text("".join(json.dumps({k: v for k, v in row.items() if k != missing}) + "\n" for row in rows))
    config = config_with(
        ws,
        lambda c: c.update(prompts={"sample": {"file": "corpus.jsonl", "size": 2}, "translations": c["prompts"]["translations"]}),
    )
    result = run(ws, "results/source_prompts/sample.parquet", config)
    assert_clear_failure(
        ws, result, "corpus.jsonl", missing, output="results/source_prompts/sample.parquet", says="missing column"
    )


def test_an_output_directory_the_run_cannot_write(ws):
    blocker = ws / "results/prompts"  # a file where the run writes a directory
    blocker.write_text("")
    try:
        result = run(ws, "results/prompts/en.parquet", config_with(ws))
    finally:
        blocker.unlink()
    text = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in text, text[-3000:]
    assert "Cannot run [file results/prompts]: the run writes into this path, which is a file, not a directory" in text


def test_a_killed_writers_hidden_leftover_is_swept_by_the_rerun(ws):
    """A job killed before its rename leaves its hidden temporary output beside the real one; the rerun removes it."""
    write(ws, GENERATIONS, generations(RESPONSES))
    write(ws, SCORES, scores(REWARDS))
    leftover = ws / MAXR.replace("maxr.parquet", ".maxr.parquet.k1ll3d.tmp")
    leftover.parent.mkdir(parents=True, exist_ok=True)
    leftover.write_bytes(b"half a table")
    result = run(ws, MAXR, config_with(ws), "preference_dataset")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (ws / MAXR).is_file() and not leftover.exists() and leftovers(ws) == []
