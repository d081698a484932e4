# Networks with planted modules: results/planted/<dataset>/ (the dataset of the config's top level).
P = "results/planted/{dataset}"


rule planted:
    input:
        data=data_file,
    output:
        f"{P}/strength={{strength}}/seed={{seed}}/recovery.csv",
    params:
        strength=lambda wc: float(wc.strength),
        seed=lambda wc: int(wc.seed),
        planted=SETTINGS.planted.as_dict(exclude=("strengths", "seeds")),
        similarity=SETTINGS.similarity.as_dict(),
        clustering=SETTINGS.clustering.algorithm(),
    log:
        f"{P}/logs/strength={{strength}}/seed={{seed}}.log",
    benchmark:
        f"{P}/benchmarks/strength={{strength}}/seed={{seed}}.tsv"
    threads: 1
    conda:
        "../../envs/torch.yaml"
    script:
        "../scripts/planted.py"


rule table_planted:
    input:
        lambda wc: [f"results/planted/{wc.dataset}/strength={fmt(s)}/seed={seed}/recovery.csv"
                    for s in SETTINGS.planted.strengths for seed in range(SETTINGS.planted.seeds)],
    output:
        report(f"{P}/tables/planted_recovery.csv", caption="../report/planted_recovery.rst", category="Planted modules"),
    log:
        f"{P}/logs/tables/planted_recovery.log",
    benchmark:
        f"{P}/benchmarks/tables/planted_recovery.tsv"
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/table_planted.py"
