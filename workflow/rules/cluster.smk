rule cluster:
    input:
        similarity=model_file("similarity.h5"),
        # the shuffled-weight nulls (significance.n_null > 0) are measured from the model itself
        model=model_file("model.pt") if N_NULL else [],
        data=data_file if N_NULL else [],
    output:
        f"{R}/models/{{model}}/clusters.h5",
    params:
        model_id=lambda wc: wc.model,
        clustering=options("clustering"),
        n_null=N_NULL,
        null_similarity=null_similarity,
        version=STAGE_VERSION["cluster"],
    log:
        f"{R}/logs/cluster/{{model}}.log",
    benchmark:
        f"{R}/benchmarks/cluster/{{model}}.tsv"
    threads: 1
    conda:
        "../../envs/torch.yaml" if N_NULL else "../../envs/analysis.yaml"
    script:
        "../scripts/cluster.py"


# Blocks of seeds (training.models_per_job): one job clusters the models of a training block.
for _name, _first, _last, _experiments, _group in model_blocks():

    rule:
        name:
            f"cluster_{_name}"
        input:
            similarity=block_files("similarity.h5", _first, _last),
            model=block_files("model.pt", _first, _last) if N_NULL else [],
            data=data_file if N_NULL else [],
        output:
            block_outputs("clusters.h5", _first, _last),
        wildcard_constraints:
            experiment=_experiments,
            group=_group,
        params:
            model_ids=block_ids(_first, _last),
            clustering=options("clustering"),
            n_null=N_NULL,
            null_similarity=null_similarity,
            version=STAGE_VERSION["cluster"],
        log:
            f"{R}/logs/cluster/{{group}}/seeds={_first}-{_last}.log",
        benchmark:
            f"{R}/benchmarks/cluster/{{group}}/seeds={_first}-{_last}.tsv"
        threads: 1
        resources:
            **stage_resources("cluster"),
        conda:
            "../../envs/torch.yaml" if N_NULL else "../../envs/analysis.yaml"
        script:
            "../scripts/cluster_block.py"

    workflow.ruleorder(f"cluster_{_name}", "cluster")


rule compare:
    input:
        model_file("clusters.h5"),
    output:
        f"{R}/models/{{model}}/cluster_similarity.h5",
    params:
        model_id=lambda wc: wc.model,
        compare=options("compare"),
        version=STAGE_VERSION["compare"],
    log:
        f"{R}/logs/compare/{{model}}.log",
    benchmark:
        f"{R}/benchmarks/compare/{{model}}.tsv"
    threads: 1
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/compare.py"


for _name, _first, _last, _experiments, _group in model_blocks():

    rule:
        name:
            f"compare_{_name}"
        input:
            block_files("clusters.h5", _first, _last),
        output:
            block_outputs("cluster_similarity.h5", _first, _last),
        wildcard_constraints:
            experiment=_experiments,
            group=_group,
        params:
            model_ids=block_ids(_first, _last),
            compare=options("compare"),
            version=STAGE_VERSION["compare"],
        log:
            f"{R}/logs/compare/{{group}}/seeds={_first}-{_last}.log",
        benchmark:
            f"{R}/benchmarks/compare/{{group}}/seeds={_first}-{_last}.tsv"
        threads: 1
        resources:
            **stage_resources("compare"),
        conda:
            "../../envs/analysis.yaml"
        script:
            "../scripts/compare_block.py"

    workflow.ruleorder(f"compare_{_name}", "compare")
