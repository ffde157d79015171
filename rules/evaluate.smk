# EuroEval: adapters merged into their base model, then scored per (subject, language).
from workflow_scripts.plan import euroeval_jobs, euroeval_languages, parse_subject


def subject_model_input(subject):
    """The base model a subject runs on (materialized when it is a GGUF)."""
    return model_input(parse_subject(subject)[0])


def adapter_input(subject):
    adapter = parse_subject(subject)[1]
    return [adapter.adapter_dir] if adapter else []


def merge_spec(wc):
    return {**model_params(wc.policy), "code": step_code("merge")}


rule merge_adapter:
    input:
        adapter="results/adapters/{policy}/{source}/{scope}/{dataset}",
        model=lambda wc: model_input(wc.policy),
    output:
        # Full model copies are large: kept only until the evaluations that read them are done.
        temp(directory("results/merged/{policy}/{source}/{scope}/{dataset}")),
    params:
        spec=merge_spec,
    resources:
        **job_resources("euroeval"),
    log:
        "logs/merge_adapter/{policy}/{source}/{scope}/{dataset}.log",
    threads: config["threads"]["training"]
    script:
        "scripts/merge.py"


def euroeval_inputs(wc):
    base, adapter = parse_subject(wc.subject)
    if adapter:
        return {"model": f"results/merged/{wc.subject}"}
    local = model_input(base)
    return {"model": local[0]} if local else {}  # a Hub model is loaded by its id


def euroeval_spec(wc):
    evaluation = config["evaluation"]["euroeval"]
    base, adapter = parse_subject(wc.subject)
    names = evaluation["datasets"][wc.lang]
    custom = {name: evaluation["custom_datasets"][name] for name in names if name in evaluation["custom_datasets"]}
    return {
        **model_params(base),
        "subject": wc.subject,
        "language": wc.lang,
        "datasets": names,
        "custom_datasets": custom,
        # Custom data is identified by content, not by path.
        "custom_data_sha256": {name: {split: file_sha256(Path(spec["dir"]) / f"{split}.csv") for split in ("train", "val", "test")}
                               for name, spec in custom.items()},
        **{key: evaluation[key] for key in ("few_shot", "num_iterations", "evaluate_test_split", "offline", "python")},
        "gpu_memory_utilization": config["engine"]["gpu_memory_utilization"],
        "code": step_code("euroeval"),
    }


rule euroeval:
    input:
        unpack(euroeval_inputs),
        adapter=lambda wc: adapter_input(wc.subject),
    output:
        "results/euroeval/{subject}/{lang}.json",
    wildcard_constraints:
        # training languages and evaluation-only (held-out) ones
        lang="|".join(euroeval_languages(config)) or "^$",
    params:
        spec=euroeval_spec,
    resources:
        **job_resources("euroeval"),
    log:
        "logs/euroeval/{subject}/{lang}.log",
    cache: True
    threads: config["evaluation"]["euroeval"]["threads"]
    script:
        "scripts/euroeval.py"
