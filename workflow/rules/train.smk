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
        training=TRAINING_PARAMS,
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


# Blocks of paired seeds (training.models_per_job > 1): one job trains (initialises) the models of
# each complete block one after another, the same models as one job each (README, "Models per job").
for (_first, _last), _experiments in seed_blocks().items():

    rule:
        name:
            f"train_seeds_{_first}_{_last}"
        input:
            data=data_file,
            checks=OWN_CHECKS,
        output:
            model=block_outputs("model.pt", _first, _last, "{setting}"),
            metrics=block_outputs("metrics.json", _first, _last, "{setting}"),
            history=block_outputs("history.csv", _first, _last, "{setting}"),
        wildcard_constraints:
            experiment=_experiments,
        params:
            setting=setting_params,
            seeds=list(range(_first, _last + 1)),
            arch=lambda wc: exp(wc).options.model.architecture(),
            training=TRAINING_PARAMS,
            version=STAGE_VERSION["train"],
        log:
            f"{R}/logs/train/{{setting}}/seeds={_first}-{_last}.log",
        benchmark:
            f"{R}/benchmarks/train/{{setting}}/seeds={_first}-{_last}.tsv"
        threads: option("training", "threads")
        resources:
            **stage_resources("train", gpu=1),
        conda:
            "../../envs/torch.yaml"
        script:
            "../scripts/train_block.py"

    workflow.ruleorder(f"train_seeds_{_first}_{_last}", "train")


for (_first, _last), _experiments in seed_blocks(untrained=True).items():

    rule:
        name:
            f"init_untrained_seeds_{_first}_{_last}"
        input:
            data=data_file,
            checks=OWN_CHECKS,
        output:
            model=block_outputs("model.pt", _first, _last, "untrained"),
            metrics=block_outputs("metrics.json", _first, _last, "untrained"),
        wildcard_constraints:
            experiment=_experiments,
        params:
            seeds=list(range(_first, _last + 1)),
            arch=lambda wc: exp(wc).options.model.architecture(),
            val_fraction=option("training", "val_fraction"),
            version=STAGE_VERSION["train"],
        log:
            f"{R}/logs/init_untrained/seeds={_first}-{_last}.log",
        benchmark:
            f"{R}/benchmarks/init_untrained/seeds={_first}-{_last}.tsv"
        threads: 1
        resources:
            **stage_resources("init_untrained"),
        conda:
            "../../envs/torch.yaml"
        script:
            "../scripts/init_untrained_block.py"

    workflow.ruleorder(f"init_untrained_seeds_{_first}_{_last}", "init_untrained")


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
