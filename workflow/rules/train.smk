rule train:
    input:
        data=data_file,
        checks=OWN_CHECKS,  # nothing trains before the user's own models passed their checks
    output:
        model=f"{R}/models/{{setting}}/seed={{seed}}/model.pt",
        metrics=f"{R}/models/{{setting}}/seed={{seed}}/metrics.json",
        history=f"{R}/models/{{setting}}/seed={{seed}}/history.csv",
    params:
        setting=setting_params,
        seed=lambda wc: int(wc.seed),
        arch=lambda wc: exp(wc).options.model.architecture(),
        training=options("training", exclude=("threads",)),
        version=STAGE_VERSION["train"],
    log:
        f"{R}/logs/train/{{setting}}/seed={{seed}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{setting}}/seed={{seed}}.tsv"
    threads: option("training", "threads")
    resources:
        gpu=1,
    conda:
        "../../envs/torch.yaml"
    script:
        "../scripts/train.py"


rule init_untrained:
    input:
        data=data_file,
        checks=OWN_CHECKS,
    output:
        model=f"{R}/models/untrained/seed={{seed}}/model.pt",
        metrics=f"{R}/models/untrained/seed={{seed}}/metrics.json",
    params:
        seed=lambda wc: int(wc.seed),
        arch=lambda wc: exp(wc).options.model.architecture(),
        val_fraction=option("training", "val_fraction"),
        version=STAGE_VERSION["train"],
    log:
        f"{R}/logs/init_untrained/seed={{seed}}.log",
    benchmark:
        f"{R}/benchmarks/init_untrained/seed={{seed}}.tsv"
    threads: 1
    conda:
        "../../envs/torch.yaml"
    script:
        "../scripts/init_untrained.py"


rule check_checkpoints:
    input:
        lambda wc: list(exp(wc).checkpoints.values()),
    output:
        f"{R}/checks/checkpoints.json",
    params:
        checkpoints=lambda wc: exp(wc).options.checkpoints.as_params(),
        experiment=lambda wc: wc.experiment,
        dataset=lambda wc: wc.dataset,
    log:
        f"{R}/logs/check_checkpoints.log",
    benchmark:
        f"{R}/benchmarks/check_checkpoints.tsv"
    priority: 100
    threads: 1
    conda:
        "../../envs/torch.yaml"
    script:
        "../scripts/check_checkpoints.py"


rule import_checkpoint:
    input:
        checkpoint=lambda wc: exp(wc).checkpoints[f"checkpoint={wc.name}/seed=0"],
        data=data_file,
        check=f"{R}/checks/checkpoints.json",
    output:
        model=f"{R}/models/checkpoint={{name}}/seed=0/model.pt",
        metrics=f"{R}/models/checkpoint={{name}}/seed=0/metrics.json",
    params:
        checkpoints=lambda wc: exp(wc).options.checkpoints.as_params(),
    log:
        f"{R}/logs/import_checkpoint/{{name}}.log",
    benchmark:
        f"{R}/benchmarks/import_checkpoint/{{name}}.tsv"
    threads: 1
    conda:
        "../../envs/torch.yaml"
    script:
        "../scripts/import_checkpoint.py"
