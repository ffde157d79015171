# Training datasets: Paired DPO and Max-R from scored samples; In-Lang / All-Lang SFT from translations.


def dataset_spec(wc, dataset=None):
    return {
        "scope": wc.scope,
        "dataset": dataset or wc.dataset,
        "non_finite": config["reward"]["non_finite"],
        "seed": config["pairs"]["seed"],
        "code": step_code("dataset"),
    }


rule preference_dataset:
    input:
        scores=lambda wc: [f"results/scores/{wc.source}/{l}.parquet" for l in scope_languages(wc.scope)],
        generations=lambda wc: [f"results/generations/{wc.source}/{l}.parquet" for l in scope_languages(wc.scope)],
    output:
        data="results/datasets/{source}/{scope}/{dataset}.parquet",
        stats="results/datasets/{source}/{scope}/{dataset}.stats.json",
    wildcard_constraints:
        source=SAMPLES_RE,
        dataset=r"dpo-(mean_minus_2sigma|q1|min)-(chosen|rejected|random)|maxr",
    params:
        spec=dataset_spec,
    resources:
        **job_resources("light"),
    log:
        "logs/dataset/{source}/{scope}/{dataset}.log",
    cache: True
    script:
        "scripts/dataset.py"


rule translated_dataset:
    input:
        prompts=lambda wc: [f"results/prompts/{l}.parquet" for l in scope_languages(wc.scope)],
    output:
        data=f"results/datasets/{TRANSLATED}/{{scope}}/sft.parquet",
        stats=f"results/datasets/{TRANSLATED}/{{scope}}/sft.stats.json",
    params:
        spec=lambda wc: dataset_spec(wc, "sft"),
    resources:
        **job_resources("light"),
    log:
        f"logs/dataset/{TRANSLATED}/{{scope}}/sft.log",
    cache: True
    script:
        "scripts/dataset.py"
