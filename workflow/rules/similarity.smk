rule similarity:
    input:
        model=f"{R}/models/{{model}}/model.pt",
        data=data_file,
    output:
        f"{R}/models/{{model}}/similarity.h5",
    params:
        model_id=lambda wc: wc.model,
        abs_placement=config["similarity"]["abs_placement"],
        normalization=config["similarity"]["normalization"],
        eps=config["similarity"]["eps"],
        batch_size=config["similarity"]["batch_size"],
        max_positions=config["similarity"]["max_positions"],
        seed=config["similarity"]["seed"],
        method=config["similarity"]["method"],
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
