rule train:
    input:
        data=rules.data.output[0],
    output:
        model=f"{R}/models/{{setting}}/seed={{seed}}/model.pt",
        metrics=f"{R}/models/{{setting}}/seed={{seed}}/metrics.json",
        history=f"{R}/models/{{setting}}/seed={{seed}}/history.csv",
    params:
        l2=setting_value("l2"),
        l1=setting_value("l1"),
        dropout=setting_value("dropout"),
        seed=lambda wc: int(wc.seed),
        hidden=config["model"]["hidden"],
        training=training_params(),
        device=config["training"]["device"],
        version=STAGE_VERSION["train"],
    log:
        f"{R}/logs/train/{{setting}}/seed={{seed}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{setting}}/seed={{seed}}.tsv"
    threads: config["training"]["threads"]
    resources:
        gpu=1,
    conda:
        "../../envs/torch.yaml"
    script:
        "../scripts/train.py"


rule init_untrained:
    input:
        data=rules.data.output[0],
    output:
        model=f"{R}/models/untrained/seed={{seed}}/model.pt",
        metrics=f"{R}/models/untrained/seed={{seed}}/metrics.json",
    params:
        seed=lambda wc: int(wc.seed),
        hidden=config["model"]["hidden"],
        val_fraction=config["training"]["val_fraction"],
        device="cpu",
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
