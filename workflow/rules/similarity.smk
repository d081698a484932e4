rule similarity:
    input:
        model=f"{R}/models/{{model}}/model.pt",
        data=rules.data.output[0],
    output:
        f"{R}/models/{{model}}/similarity.h5",
    params:
        model_id=lambda wc: wc.model,
        abs_placement=config["similarity"]["abs_placement"],
        normalization=config["similarity"]["normalization"],
        eps=config["similarity"]["eps"],
        batch_size=config["similarity"]["batch_size"],
        device=config["training"]["device"],
        version=STAGE_VERSION["similarity"],
    log:
        f"{R}/logs/similarity/{{model}}.log",
    benchmark:
        f"{R}/benchmarks/similarity/{{model}}.tsv"
    threads: config["training"]["threads"]
    resources:
        gpu=1,
    conda:
        "../../envs/torch.yaml"
    script:
        "../scripts/similarity.py"
