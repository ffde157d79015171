"""The GPU-hour plan: every GPU job the configured experiments plan, its work (prompts, samples, tokens read,
generated and trained on, EuroEval and judge calls), and its GPU-hours from a throughput table per GPU kind
(`cost:` in the config; each figure with its source). Once jobs have run, the time their logs report replaces
the assumption for their stage and model (`stages/report/cost.py`): the rest of it is priced at the measured rate.

    python -m workflow_scripts.planning.cost [--configfile presets/paper.yaml] [--gpu h100] [--csv FILE]

Counts are exact where the plan fixes them (prompts, samples per prompt, languages, adapters, comparisons; a
prompt file's lines, or the prompt tables once they exist); a pair table's size is at most one pair per prompt
(a pool without two distinct rewards forms none), and token counts are counts times the mean lengths of
`cost.lengths` (assumed, each with its source). Hours are tokens / (tokens per second on one GPU), the
throughput scaled from the table's model size to the job's model by their ratio of parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from workflow_scripts.errors import UserError
from workflow_scripts.names import (
    ICR,
    MAPO,
    ONLINE,
    TRANSLATED,
    parse_dataset,
    parse_sample_source,
    parse_subject,
    sample_settings,
    scope_languages,
)
from workflow_scripts.planning.layout import ARENA_PROMPTS, LOGS, PROMPTS, euroeval_batch
from workflow_scripts.planning.plan import (
    arena_comparisons,
    arena_jobs,
    curve_runs,
    effective_judge,
    euroeval_batched,
    euroeval_jobs,
    grouped_arena_subjects,
    machine_translated_languages,
    sample_sets,
    trainings,
)
from workflow_scripts.runtime.scatter import shard_bounds
from workflow_scripts.stages.report.cost import format_table, measured_times, stage_rows


@dataclass(frozen=True)
class Job:
    """One planned GPU job: its stage, its log (where its measured time is), the GPUs it asks for, its calls, and
    its tokens as (kind, model, tokens) terms: read (prefill), generated (decode) or trained on."""

    stage: str
    log: str
    gpus: int
    calls: int
    terms: tuple  # ((kind, model, tokens), ...)

    def tokens(self, kind: str) -> float:
        return sum(tokens for k, _, tokens in self.terms if k == kind)

    def models(self) -> list[str]:
        return sorted({model for _, model, _ in self.terms})


# ---------------------------------------------------------------- sizes and rates

SIZE_RE = re.compile(r"(?<![0-9.])(\d+(?:\.\d+)?)([bm])(?![a-z])", re.IGNORECASE)


def model_size_b(config: dict, name: str) -> float:
    """Parameters in billions: `models.<name>.size_b`, else the first `<number>b` or `<number>m` in the name, Hub id
    or GGUF file name (`eurollm-9b`, `SmolLM2-135M`)."""
    spec = config["models"][name]
    if spec.get("size_b"):
        return float(spec["size_b"])
    for text in (name, spec.get("hub", ""), (spec.get("gguf") or {}).get("file", ""), Path(spec.get("path", "")).name):
        found = SIZE_RE.search(text or "")
        if found:
            number, unit = float(found.group(1)), found.group(2).lower()
            return number if unit == "b" else number / 1000
    raise UserError(
        f"cannot tell the size of model '{name}' from its name: set models.{name}.size_b (parameters in billions)",
        field=f"models.{name}.size_b",
    )


def throughput_table(config: dict, gpu: str | None = None) -> dict:
    gpu = gpu or config["cost"]["gpu"]
    table = config["cost"]["throughput"]
    if gpu not in table:
        raise UserError(f"no throughput for GPU kind '{gpu}' (known: {', '.join(sorted(table))})", field="cost.gpu")
    return table[gpu]


def assumed_rate(config: dict, table: dict, kind: str, model: str) -> float:
    """Tokens per second on one GPU for `model`: the table's figure scaled by the ratio of parameters."""
    entry = table[kind]
    return entry["tokens_per_second"] * entry["model_size_b"] / model_size_b(config, model)


def job_seconds(config: dict, table: dict, job: Job) -> float:
    """GPU-seconds of a job at the assumed rates (one GPU's rate times the job's GPUs is its speed)."""
    return sum(tokens / assumed_rate(config, table, kind, model) for kind, model, tokens in job.terms)


# ---------------------------------------------------------------- counts


def count_rows(path: Path) -> int:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    if path.suffix == ".csv":
        import csv

        with path.open(newline="", encoding="utf-8") as handle:
            return sum(1 for _ in csv.DictReader(handle))
    with path.open(encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip())


def prompt_count(config: dict, base: Path, read_results: bool = True) -> int:
    """Prompts per language: the source prompt table's rows once it exists, else the file's lines or the sample's
    size, at most `prompts.limit`."""
    table = base / PROMPTS.format(lang=config["source_language"])
    prompts = config["prompts"]
    if read_results and table.is_file():
        return count_rows(table)
    count = count_rows(base / prompts["file"]) if prompts.get("file") else prompts["sample"]["size"]
    return min(count, prompts["limit"]) if prompts.get("limit") else count


def arena_prompt_count(config: dict, base: Path, lang: str, read_results: bool = True) -> int:
    arena = config["evaluation"]["arena"]["prompts"]
    table = base / ARENA_PROMPTS.format(lang=lang)
    if read_results and table.is_file():
        return count_rows(table)
    if lang in arena["files"]:
        count = count_rows(base / arena["files"][lang])
    else:
        count = int(config["cost"]["arena_prompts"]["value"])
    return min(count, arena["limit"]) if arena.get("limit") else count


def euroeval_examples(config: dict, base: Path, dataset: str) -> int:
    """Examples one EuroEval iteration scores on a dataset: a custom dataset's split rows, else the assumption."""
    euroeval = config["evaluation"]["euroeval"]
    custom = euroeval["custom_datasets"].get(dataset)
    if custom:
        split = "test" if euroeval["evaluate_test_split"] else "val"
        return count_rows(base / custom["dir"] / f"{split}.csv")
    return int(config["cost"]["euroeval_examples"]["value"])


# ---------------------------------------------------------------- the plan


def plan_jobs(config: dict, base: str | Path = ".", read_results: bool = True) -> list[Job]:
    """Every GPU job of the configured experiments with its work (see the module's docstring); with
    `read_results`, the prompt counts of the prompt tables the run has made, else those of its inputs only."""
    base = Path(base)
    lengths = {key: value["value"] for key, value in config["cost"]["lengths"].items()}
    gen, resources = config["generation"], config["resources"]
    prompts = prompt_count(config, base, read_results)

    def engine_gpus(model: str) -> int:  # as rules/common.smk's engine_resources: at least one engine's GPUs
        asked = resources["engine"]["gpu"]
        return max(asked, config["models"][model].get("tensor_parallel_size", 1)) if asked else 0

    jobs: list[Job] = []
    prompt_tokens = lengths["prompt"]

    def response_tokens(max_tokens: int) -> float:
        return min(lengths["response"], max_tokens)

    # translation: each prompt of each machine-translated language, about as long as the source
    translator = config.get("translation", {}).get("model")
    for lang in machine_translated_languages(config):
        log = LOGS["translate"].format(translator=translator, lang=lang)
        terms = (("prefill", translator, prompts * prompt_tokens), ("decode", translator, prompts * prompt_tokens))
        jobs.append(Job("translate", log, engine_gpus(translator), prompts, terms))

    # generation and scoring of every sample a training set is built from
    planned = trainings(config)
    sampled, rewarded = sample_sets(planned)
    # MAPO aligns the other languages' samples to the English ones, which are sampled too
    mapo = [t.source for t in planned if parse_dataset(t.dataset).get("pairs") == MAPO]
    sampled = list(dict.fromkeys(sampled + [(source, config["source_language"]) for source in mapo]))
    reward = config["reward"]["model"]
    for source, lang in sampled:
        generator = parse_sample_source(source)[0]
        settings = sample_settings(source)
        n = settings.get("samples", gen["samples"])
        response = response_tokens(settings.get("max_tokens", gen["max_tokens"]))
        for shard in range(gen["shards"]):
            start, stop = shard_bounds(prompts, shard, gen["shards"])
            samples = (stop - start) * n
            log = LOGS["generate"].format(samples=source, lang=lang, shard=shard, shards=gen["shards"])
            terms = (("prefill", generator, samples * prompt_tokens), ("decode", generator, samples * response))
            jobs.append(Job("generate", log, engine_gpus(generator), samples, terms))
    for source, lang in rewarded:
        settings = sample_settings(source)
        total = prompts * settings.get("samples", gen["samples"])
        response = response_tokens(settings.get("max_tokens", gen["max_tokens"]))
        shards = config["reward"]["shards"]
        for shard in range(shards):
            start, stop = shard_bounds(total, shard, shards)
            log = LOGS["score"].format(samples=source, lang=lang, shard=shard, shards=shards)
            terms = (("prefill", reward, (stop - start) * (prompt_tokens + response)),)
            jobs.append(Job("score", log, engine_gpus(reward), stop - start, terms))
    for lang in config["languages"]:  # the reward of each reference answer (Appendix B's consistency check)
        terms = (("prefill", reward, prompts * (prompt_tokens + lengths["response"])),)
        jobs.append(Job("score", LOGS["score_references"].format(lang=lang), engine_gpus(reward), prompts, terms))

    # the baselines' own rewards: ICR scores each sample under the policy and its DPO reference (two forward
    # passes), MAPO each non-English sample's English translation likelihood under the translation model
    training_gpus = min(resources["training"]["gpu"], 1)
    rewarded_logs: set[str] = set()
    for t in planned:
        pairs = parse_dataset(t.dataset).get("pairs")
        if pairs not in (ICR, MAPO) or t.source == TRANSLATED:
            continue
        settings = sample_settings(t.source)
        samples = prompts * settings.get("samples", gen["samples"])
        response = response_tokens(settings.get("max_tokens", gen["max_tokens"]))
        for lang in scope_languages(t.scope):
            if pairs == ICR:
                log = LOGS["implicit_rewards"].format(samples=t.source, lang=lang)
                terms = (("prefill", t.policy, 2 * samples * (prompt_tokens + response)),)
            else:
                log = LOGS["alignment_rewards"].format(samples=t.source, lang=lang)
                terms = (("prefill", config["pairs"]["mapo"]["model"], 2 * samples * response),)
            if log not in rewarded_logs:  # ICR on shared samples: one job per samples and language
                rewarded_logs.add(log)
                jobs.append(Job("baseline rewards", log, training_gpus, samples, terms))

    # training: examples x epochs, or max_steps x the global batch
    from workflow_scripts.planning.specs.training import global_batch, training_spec

    def training_job(t, log: str, max_steps: int | None, gpus: int) -> Job:
        spec = training_spec(config, t.policy, t.dataset)
        method = spec.method
        langs = scope_languages(t.scope)
        pairs = parse_dataset(t.dataset).get("pairs")
        if t.source == TRANSLATED or pairs in (ICR, MAPO):
            examples = prompts * len(langs)  # one example (or within-language pair) per prompt and language
        else:
            examples = prompts  # one pair or Max-R example per prompt's pool
        batch = global_batch(spec.common)
        if max_steps:  # a curve run trains its max_steps whatever the data's size (it repeats the data)
            seen = max_steps * batch
        else:
            seen = examples * spec.common.epochs
            if spec.common.max_steps:
                seen = min(seen, spec.common.max_steps * batch)
        response = response_tokens(gen["max_tokens"])
        per_example = 2 * (prompt_tokens + response) if method == "dpo" else prompt_tokens + response
        kind = "train_dpo" if method == "dpo" else "train_sft"
        return Job("train", log, gpus, int(seen), ((kind, t.policy, seen * per_example),))

    for t in planned:
        log = LOGS["train"].format(policy=t.policy, source=t.source, scope=t.scope, dataset=t.dataset)
        jobs.append(training_job(t, log, None, resources["training"]["gpu"]))
    curve_steps = config["training"]["curves"]["max_steps"]
    for run in curve_runs(config):
        fields = dict(policy=run.policy, source=run.source, scope=run.scope, dataset=run.dataset, seed=run.seed)
        if run.dataset.startswith(ONLINE):
            # online DPO on one GPU: per step, the global batch's prompts sampled `online.samples` times and
            # scored, then one DPO step on the pairs
            from workflow_scripts.planning.specs.training import online_training_spec

            spec = online_training_spec(config, run.policy, run.scope, run.dataset, run.seed)
            prompts_seen = curve_steps * global_batch(spec.common)
            n = config["training"]["online"]["samples"]
            response = response_tokens(gen["max_tokens"])
            terms = (
                ("decode", run.policy, prompts_seen * n * response),
                ("prefill", reward, prompts_seen * n * (prompt_tokens + response)),
                ("train_dpo", run.policy, prompts_seen * 2 * (prompt_tokens + response)),
            )
            jobs.append(Job("train", LOGS["train_online"].format(**fields), training_gpus, prompts_seen, terms))
        else:
            jobs.append(training_job(run, LOGS["train_curve"].format(**fields), curve_steps, resources["training"]["gpu"]))

    # EuroEval: every (subject, language) on each of the language's datasets, num_iterations times
    euroeval = config["evaluation"]["euroeval"]
    euroeval_gpus = resources["euroeval"]["gpu"]
    prompt_length = lengths["euroeval_prompt"] if euroeval["few_shot"] else lengths["euroeval_prompt"] / 4
    by_log: dict[str, list] = {}
    for subject, lang in euroeval_jobs(config):
        model = parse_subject(subject)[0]
        examples = sum(euroeval_examples(config, base, d) for d in euroeval["datasets"][lang]) * euroeval["num_iterations"]
        if euroeval_batched(config):
            log = LOGS["euroeval_batch"].format(batch=euroeval_batch(subject))
        else:
            log = LOGS["euroeval"].format(subject=subject)
        by_log.setdefault(log, []).append((model, examples))
    for log, parts in by_log.items():
        calls = sum(examples for _, examples in parts)
        terms = tuple(("prefill", model, examples * prompt_length) for model, examples in parts)
        jobs.append(Job("euroeval", log, euroeval_gpus, calls, terms))

    # m-ArenaHard: answers of every subject in its languages, then the judge's calls
    arena = config["evaluation"]["arena"]
    answer = min(lengths["arena_answer"], arena["generation"]["max_tokens"])
    grouped = set(grouped_arena_subjects(config))
    by_log = {}
    for subject, lang in arena_jobs(config)["answers"]:
        model = parse_subject(subject)[0]
        count = arena_prompt_count(config, base, lang, read_results)
        if subject in grouped:
            log = LOGS["arena_answers"].format(subject=subject)
        else:
            log = LOGS["arena_answers_one"].format(subject=subject, lang=lang)
        by_log.setdefault(log, []).append((model, count))
    for log, parts in by_log.items():
        model = parts[0][0]
        count = sum(c for _, c in parts)
        terms = (("prefill", model, count * lengths["arena_prompt"]), ("decode", model, count * answer))
        jobs.append(Job("arena answers", log, engine_gpus(model), count, terms))
    judge = effective_judge(arena["judge"])
    comparisons = arena_comparisons(config)
    if comparisons and judge["model"]:
        orders = 2 if judge["orders"] == "both" else 1
        verdict = 1 if judge["mode"] == "logprobs" else min(lengths["judge_output"], judge["max_tokens"])
        by_log = {}
        for name, lang in arena_jobs(config)["comparisons"]:
            calls = arena_prompt_count(config, base, lang, read_results) * orders
            if comparisons[name]["configured"]:
                log = LOGS["arena_judge"].format(comparison=name)
            else:
                log = LOGS["arena_judge_one"].format(comparison=name, lang=lang)
            by_log[log] = by_log.get(log, 0) + calls
        for log, calls in by_log.items():
            terms = (
                ("prefill", judge["model"], calls * (lengths["arena_prompt"] + 2 * answer)),
                ("decode", judge["model"], calls * verdict),
            )
            jobs.append(Job("judge", log, engine_gpus(judge["model"]), calls, terms))
    return jobs


def priced_jobs(config: dict, jobs: list[Job], gpu: str | None = None) -> list[dict]:
    """Each job with its work and its GPU-seconds at the assumed rates (one GPU's rate for each term): what the
    report's spec carries, and what `stages/report/cost.py` adds the measured times to."""
    table = throughput_table(config, gpu)
    return [
        {
            "stage": job.stage,
            "log": job.log,
            "gpus": job.gpus,
            "calls": job.calls,
            "models": job.models(),
            "tokens_read": job.tokens("prefill"),
            "tokens_generated": job.tokens("decode"),
            "tokens_trained": job.tokens("train_dpo") + job.tokens("train_sft"),
            "assumed_gpu_seconds": job_seconds(config, table, job),
        }
        for job in jobs
    ]


def cost_plan(config: dict, base: str | Path = ".", gpu: str | None = None, read_results: bool = True) -> dict:
    """The plan as the report shows it: the GPU kind, its throughput table (with sources), every priced job."""
    gpu = gpu or config["cost"]["gpu"]
    jobs = plan_jobs(config, base, read_results)
    return {"gpu": gpu, "throughput": throughput_table(config, gpu), "jobs": priced_jobs(config, jobs, gpu)}


def main(argv=None) -> None:
    import argparse
    import csv

    import yaml
    from snakemake.utils import validate

    parser = argparse.ArgumentParser(prog="python -m workflow_scripts.planning.cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--configfile", default="config.yaml")
    parser.add_argument("--gpu", default=None, help="a GPU kind of cost.throughput (default: cost.gpu)")
    parser.add_argument("--csv", default=None, help="also write the per-stage rows to this CSV file")
    args = parser.parse_args(argv)
    config = yaml.safe_load(Path(args.configfile).read_text())
    validate(config, str(Path(__file__).resolve().parents[2] / "schemas/config.schema.yaml"))
    try:
        plan = cost_plan(config, ".", args.gpu)
        rows = stage_rows(plan["jobs"], measured_times(plan["jobs"]))
    except UserError as exc:
        raise SystemExit(f"error [file {args.configfile}{f', field {exc.field}' if exc.field else ''}]: {exc.message}") from None
    print(f"GPU-hour plan of {args.configfile} ({len(plan['jobs']):,} GPU jobs)\n")
    print(format_table(rows, plan["gpu"], plan["throughput"]))
    if args.csv:
        with open(args.csv, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
