rule similarity:
    input:
        model=model_file("model.pt"),
        data=data_file,
    output:
        f"{R}/models/{{model}}/similarity.h5",
    params:
        model_id=lambda wc: wc.model,
        abs_placement=econf("similarity", "abs_placement"),
        normalization=econf("similarity", "normalization"),
        eps=econf("similarity", "eps"),
        batch_size=econf("similarity", "batch_size"),
        max_positions=econf("similarity", "max_positions"),
        seed=econf("similarity", "seed"),
        method=econf("similarity", "method"),
        device=econf("training", "device"),
        version=STAGE_VERSION["similarity"],
    log:
        f"{R}/logs/similarity/{{model}}.log",
    benchmark:
        f"{R}/benchmarks/similarity/{{model}}.tsv"
    threads: lambda wc: exp(wc).config["training"]["threads"]
    resources:
        gpu=1,
    conda:
        "../../envs/torch.yaml"
    script:
        "../scripts/similarity.py"
