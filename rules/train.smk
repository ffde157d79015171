# LoRA adapters with TRL: DPO on pairs, SFT on Max-R or translated data.


def training_processes():
    processes = config["training"]["common"]["processes"]
    return (config["resources"]["training"]["gpu"] or 1) if processes == "auto" else processes


def training_spec(wc):
    training = config["training"]
    method = parse_dataset(wc.dataset)["method"]
    hyper = training["dpo"] if method == "dpo" else training["sft"]
    return {
        **model_params(wc.policy),
        "policy": wc.policy,
        "method": method,
        "learning_rate": hyper["learning_rate"],
        "beta": hyper.get("beta"),
        "lora": training["lora"],
        "common": {**training["common"], "processes": training_processes()},
        "code": step_code("train"),
    }


rule train:
    input:
        data="results/datasets/{source}/{scope}/{dataset}.parquet",
        model=lambda wc: model_input(wc.policy),
    output:
        adapter=directory("results/adapters/{policy}/{source}/{scope}/{dataset}"),
    params:
        spec=training_spec,
    resources:
        **job_resources("training"),
    log:
        "logs/train/{policy}/{source}/{scope}/{dataset}.log",
    cache: True
    threads: config["threads"]["training"]
    script:
        "scripts/train.py"
