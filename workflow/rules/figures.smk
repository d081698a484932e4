rule fig3:
    input:
        modularity=f"{R}/tables/modularity.csv",
        sweeps=f"{R}/tables/sweeps.csv",
        metrics=f"{R}/tables/metrics.csv",
        sims=example_files("similarity.h5"),
        clusters=example_files("clusters.h5"),
    output:
        **figure_outputs("fig3"),
    params:
        dpi=config["plots"]["dpi"],
        titles=lambda wc: example_models(exp(wc))[1],
        measure=config["plots"]["example_measure"],
    log:
        f"{R}/logs/figures/fig3.log",
    benchmark:
        f"{R}/benchmarks/figures/fig3.tsv"
    localrule: True
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/fig3.py"


rule fig4:
    input:
        cluster_similarity=f"{R}/tables/cluster_similarity.csv",
        metrics=f"{R}/tables/metrics.csv",
    output:
        **figure_outputs("fig4"),
    params:
        dpi=config["plots"]["dpi"],
        metric="element_sim",
    log:
        f"{R}/logs/figures/fig4.log",
    benchmark:
        f"{R}/benchmarks/figures/fig4.tsv"
    localrule: True
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/fig4.py"


rule figS1:
    input:
        metrics=f"{R}/tables/metrics.csv",
        sweeps=f"{R}/tables/sweeps.csv",
    output:
        **figure_outputs("figS1"),
    params:
        dpi=config["plots"]["dpi"],
    log:
        f"{R}/logs/figures/figS1.log",
    benchmark:
        f"{R}/benchmarks/figures/figS1.tsv"
    localrule: True
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/figS1.py"


rule figS2:
    input:
        modularity=f"{R}/tables/modularity.csv",
    output:
        **figure_outputs("figS2"),
    params:
        dpi=config["plots"]["dpi"],
    log:
        f"{R}/logs/figures/figS2.log",
    benchmark:
        f"{R}/benchmarks/figures/figS2.tsv"
    localrule: True
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/figS2.py"


rule figS3:
    input:
        modularity=f"{R}/tables/modularity.csv",
        sweeps=f"{R}/tables/sweeps.csv",
        metrics=f"{R}/tables/metrics.csv",
    output:
        **figure_outputs("figS3"),
    params:
        dpi=config["plots"]["dpi"],
    log:
        f"{R}/logs/figures/figS3.log",
    benchmark:
        f"{R}/benchmarks/figures/figS3.tsv"
    localrule: True
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/figS3.py"


rule figS4:
    input:
        modularity=f"{R}/tables/modularity.csv",
        sweeps=f"{R}/tables/sweeps.csv",
        metrics=f"{R}/tables/metrics.csv",
    output:
        **figure_outputs("figS4"),
    params:
        dpi=config["plots"]["dpi"],
    log:
        f"{R}/logs/figures/figS4.log",
    benchmark:
        f"{R}/benchmarks/figures/figS4.tsv"
    localrule: True
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/figS4.py"


rule figS5:
    input:
        cluster_similarity=f"{R}/tables/cluster_similarity.csv",
        sweeps=f"{R}/tables/sweeps.csv",
        metrics=f"{R}/tables/metrics.csv",
    output:
        **figure_outputs("figS5"),
    params:
        dpi=config["plots"]["dpi"],
        metric="element_sim",
    log:
        f"{R}/logs/figures/figS5.log",
    benchmark:
        f"{R}/benchmarks/figures/figS5.tsv"
    localrule: True
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/figS5.py"


rule training_curves:
    input:
        history=f"{R}/tables/history.csv",
        sweeps=f"{R}/tables/sweeps.csv",
    output:
        **figure_outputs("training_curves"),
    params:
        dpi=config["plots"]["dpi"],
    log:
        f"{R}/logs/figures/training_curves.log",
    benchmark:
        f"{R}/benchmarks/figures/training_curves.tsv"
    localrule: True
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/training_curves.py"


rule agreement_figure_per_metric:
    input:
        cluster_similarity=f"{R}/tables/cluster_similarity.csv",
        sweeps=f"{R}/tables/sweeps.csv",
        metrics=f"{R}/tables/metrics.csv",
    output:
        pdf=f"{R}/figures/{{figure}}_{{metric}}.pdf",
        png=report(f"{R}/figures/{{figure}}_{{metric}}.png", caption="../report/agreement_metric.rst",
                   category="Figures", subcategory="{experiment}", labels={"figure": "{figure}", "metric": "{metric}"}),
    params:
        dpi=config["plots"]["dpi"],
        metric=lambda wc: wc.metric,
        figure=lambda wc: wc.figure,
    wildcard_constraints:
        figure="fig4|figS5",
        metric="nmi|rmi|vi",
    log:
        f"{R}/logs/figures/{{figure}}_{{metric}}.log",
    benchmark:
        f"{R}/benchmarks/figures/{{figure}}_{{metric}}.tsv"
    localrule: True
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/agreement_figure.py"


rule fig3_z:
    input:
        modularity=f"{R}/tables/modularity.csv",
        sweeps=f"{R}/tables/sweeps.csv",
        metrics=f"{R}/tables/metrics.csv",
    output:
        **figure_outputs("fig3_z"),
    params:
        dpi=config["plots"]["dpi"],
    log:
        f"{R}/logs/figures/fig3_z.log",
    benchmark:
        f"{R}/benchmarks/figures/fig3_z.tsv"
    localrule: True
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/fig3_z.py"


rule summary_figure:
    input:
        f"{SUMMARY}/tables/modularity.csv",
    output:
        pdf=f"{SUMMARY}/figures/{{figure}}.pdf",
        png=report(f"{SUMMARY}/figures/{{figure}}.png", caption="../report/summary_figure.rst", category="Figures",
                   subcategory="all experiments", labels={"figure": "{figure}"}),
    params:
        dpi=config["plots"]["dpi"],
        figure=lambda wc: wc.figure,
    wildcard_constraints:
        figure="|".join(SUMMARY_FIGURES),
    log:
        f"{SUMMARY}/logs/figures/{{figure}}.log",
    benchmark:
        f"{SUMMARY}/benchmarks/figures/{{figure}}.tsv"
    localrule: True
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/summary_figure.py"
