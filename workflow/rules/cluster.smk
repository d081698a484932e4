rule cluster:
    input:
        similarity=f"{R}/models/{{model}}/similarity.h5",
        # the shuffled-weight nulls (significance.n_null > 0) are measured from the model itself
        model=f"{R}/models/{{model}}/model.pt" if N_NULL else [],
        data=data_file if N_NULL else [],
    output:
        f"{R}/models/{{model}}/clusters.h5",
    params:
        model_id=lambda wc: wc.model,
        method=config["clustering"]["method"],
        mc_steps=config["clustering"]["mc_steps"],
        target_entropy=config["clustering"]["target_entropy"],
        restarts=config["clustering"]["restarts"],
        seed=config["clustering"]["seed"],
        mc_only_fraction=config["clustering"]["mc_only_fraction"],
        mc_only_steps=config["clustering"]["mc_only_steps"],
        n_null=N_NULL,
        null_similarity=NULL_SIMILARITY,
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


rule compare:
    input:
        f"{R}/models/{{model}}/clusters.h5",
    output:
        f"{R}/models/{{model}}/cluster_similarity.h5",
    params:
        model_id=lambda wc: wc.model,
        unused=config["compare"]["unused"],
        alpha=config["compare"]["alpha"],
        r=config["compare"]["r"],
        metrics=config["compare"]["metrics"],
        n_perm=config["compare"]["n_perm"],
        seed=config["compare"]["seed"],
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
