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
