rule table_sweeps:
    output:
        report(f"{R}/tables/sweeps.csv", caption="../report/table_sweeps.rst", category="Tables", subcategory="{experiment}"),
    params:
        rows=lambda wc: exp(wc).sweep_rows,
    log:
        f"{R}/logs/tables/sweeps.log",
    benchmark:
        f"{R}/benchmarks/tables/sweeps.tsv"
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/table_sweeps.py"


rule table_metrics:
    input:
        model_files("metrics.json"),
    output:
        report(f"{R}/tables/metrics.csv", caption="../report/table_metrics.rst", category="Tables", subcategory="{experiment}"),
    params:
        accuracy_cutoff=option("analysis", "accuracy_cutoff"),
    log:
        f"{R}/logs/tables/metrics.log",
    benchmark:
        f"{R}/benchmarks/tables/metrics.tsv"
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/table_metrics.py"


rule table_modularity:
    input:
        clusters=model_files("clusters.h5"),
        metrics=rules.table_metrics.output[0],
    output:
        report(f"{R}/tables/modularity.csv", caption="../report/table_modularity.rst", category="Tables", subcategory="{experiment}"),
    log:
        f"{R}/logs/tables/modularity.log",
    benchmark:
        f"{R}/benchmarks/tables/modularity.tsv"
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/table_modularity.py"


rule table_cluster_similarity:
    input:
        comparisons=model_files("cluster_similarity.h5"),
        metrics=rules.table_metrics.output[0],
    output:
        report(f"{R}/tables/cluster_similarity.csv", caption="../report/table_cluster_similarity.rst", category="Tables", subcategory="{experiment}"),
    log:
        f"{R}/logs/tables/cluster_similarity.log",
    benchmark:
        f"{R}/benchmarks/tables/cluster_similarity.tsv"
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/table_cluster_similarity.py"


rule table_history:
    input:
        model_files("history.csv", "trained_models"),
    output:
        report(f"{R}/tables/history.csv", caption="../report/table_history.rst", category="Tables", subcategory="{experiment}"),
    log:
        f"{R}/logs/tables/history.log",
    benchmark:
        f"{R}/benchmarks/tables/history.tsv"
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/table_history.py"


rule scorecard:
    input:
        modularity=f"{R}/tables/modularity.csv",
        cluster_similarity=f"{R}/tables/cluster_similarity.csv",
        metrics=f"{R}/tables/metrics.csv",
        sweeps=f"{R}/tables/sweeps.csv",
    output:
        report(f"{R}/tables/findings.csv", caption="../report/findings.rst", category="Scorecard", subcategory="{experiment}"),
    params:
        analysis=options("analysis", exclude=("accuracy_cutoff",)),
    log:
        f"{R}/logs/tables/findings.log",
    benchmark:
        f"{R}/benchmarks/tables/findings.tsv"
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/scorecard.py"


rule robustness:
    input:
        robustness_inputs,
    output:
        report(f"{R}/tables/robustness.csv", caption="../report/robustness.rst", category="Scorecard", subcategory="{experiment}"),
    params:
        labels=robustness_labels,
    log:
        f"{R}/logs/tables/robustness.log",
    benchmark:
        f"{R}/benchmarks/tables/robustness.tsv"
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/robustness.py"


rule table_summary:
    input:
        [f"{experiment_root(e)}/tables/modularity.csv" for e in BASES.values()],
    output:
        report(f"{SUMMARY}/tables/modularity.csv", caption="../report/table_summary.rst", category="Tables",
               subcategory="all experiments"),
    params:
        experiments=list(BASES),
        datasets=[e.dataset for e in BASES.values()],
    log:
        f"{SUMMARY}/logs/tables/modularity.log",
    benchmark:
        f"{SUMMARY}/benchmarks/tables/modularity.tsv"
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/table_summary.py"
