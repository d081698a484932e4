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
