rule cluster:
    input:
        f"{R}/models/{{model}}/similarity.h5",
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
        version=STAGE_VERSION["cluster"],
    log:
        f"{R}/logs/cluster/{{model}}.log",
    benchmark:
        f"{R}/benchmarks/cluster/{{model}}.tsv"
    threads: 1
    conda:
        "../../envs/analysis.yaml"
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
