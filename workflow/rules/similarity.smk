rule similarity:
    input:
        model=model_file("model.pt"),
        data=data_file,
    output:
        f"{R}/models/{{model}}/similarity.h5",
    params:
        model_id=lambda wc: wc.model,
        similarity=options("similarity"),
        device=option("training", "device"),
        version=STAGE_VERSION["similarity"],
    log:
        f"{R}/logs/similarity/{{model}}.log",
    benchmark:
        f"{R}/benchmarks/similarity/{{model}}.tsv"
    threads: option("training", "threads")
    resources:
        gpu=1,
    conda:
        "../../envs/torch.yaml"
    script:
        "../scripts/similarity.py"


# Blocks of seeds (training.models_per_job): one job measures the models of a training block.
for _name, _first, _last, _experiments, _group in model_blocks():

    rule:
        name:
            f"similarity_{_name}"
        input:
            model=block_files("model.pt", _first, _last),
            data=data_file,
        output:
            block_outputs("similarity.h5", _first, _last),
        wildcard_constraints:
            experiment=_experiments,
            group=_group,
        params:
            model_ids=block_ids(_first, _last),
            similarity=options("similarity"),
            device=option("training", "device"),
            version=STAGE_VERSION["similarity"],
        log:
            f"{R}/logs/similarity/{{group}}/seeds={_first}-{_last}.log",
        benchmark:
            f"{R}/benchmarks/similarity/{{group}}/seeds={_first}-{_last}.tsv"
        threads: option("training", "threads")
        resources:
            **stage_resources("similarity", gpu=1),
        conda:
            "../../envs/torch.yaml"
        script:
            "../scripts/similarity_block.py"

    workflow.ruleorder(f"similarity_{_name}", "similarity")
