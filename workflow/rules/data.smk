rule data:
    output:
        f"{R}/data.npz",
    params:
        name=DATASET,
        data_dir=config["dataset"]["data_dir"],
        download=config["dataset"]["download"],
        version=STAGE_VERSION["data"],
    log:
        f"{R}/logs/data.log",
    benchmark:
        f"{R}/benchmarks/data.tsv"
    conda:
        "../../envs/torch.yaml"
    script:
        "../scripts/data.py"
