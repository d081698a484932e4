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
        method=econf("clustering", "method"),
        mc_steps=econf("clustering", "mc_steps"),
        target_entropy=econf("clustering", "target_entropy"),
        restarts=econf("clustering", "restarts"),
        seed=econf("clustering", "seed"),
        mc_only_fraction=econf("clustering", "mc_only_fraction"),
        mc_only_steps=econf("clustering", "mc_only_steps"),
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


rule compare:
    input:
        model_file("clusters.h5"),
    output:
        f"{R}/models/{{model}}/cluster_similarity.h5",
    params:
        model_id=lambda wc: wc.model,
        unused=econf("compare", "unused"),
        metrics=econf("compare", "metrics"),
        n_perm=econf("compare", "n_perm"),
        seed=econf("compare", "seed"),
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
