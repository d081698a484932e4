rule data:
    output:
        "results/{dataset}/data.npz",
    params:
        name=lambda wc: wc.dataset,
        data_dir=lambda wc: DATASETS[wc.dataset]["data_dir"],
        download=lambda wc: DATASETS[wc.dataset]["download"],
        version=STAGE_VERSION["data"],
    log:
        "results/{dataset}/logs/data.log",
    benchmark:
        "results/{dataset}/benchmarks/data.tsv"
    conda:
        "../../envs/torch.yaml"
    script:
        "../scripts/data.py"
