rule similarity:
    input:
        model=f"{R}/models/{{model}}/model.pt",
        data=rules.data.output[0],
    output:
        f"{R}/models/{{model}}/similarity.h5",
    params:
        abs_placement=config["similarity"]["abs"],
        normalization=config["similarity"]["normalization"],
        eps=config["similarity"]["eps"],
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
