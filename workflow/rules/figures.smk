# The template of every figure rule. Rule <name> draws <file>.pdf and .png (file: the name unless
# given) under <root>/figures, the PNG in the report; it passes plots.dpi and the params given,
# logs to <root>/logs/figures/<file>.log and runs workflow/scripts/<stem>.py in envs/plots.yaml.


# A function, not a bare loop body: Snakemake evaluates the script path again when the job runs,
# when a loop's variables would name the last figure (snakemake/snakemake#2832). No argument may be
# called script: inside the rule that name is Snakemake's function that runs the script.
def figure_rule(name, inputs, outputs, stem, file=None, params={}, constraints={}, root=R):
    rule:
        name:
            name
        input:
            **inputs,
        output:
            **outputs,
        params:
            dpi=SETTINGS.plots.dpi,
            **params,
        wildcard_constraints:
            **constraints,
        log:
            f"{root}/logs/figures/{file or name}.log",
        benchmark:
            f"{root}/benchmarks/figures/{file or name}.tsv"
        localrule: True
        conda:
            "../../envs/plots.yaml"
        script:
            f"../scripts/{stem}.py"


def table_files(*names):
    return {t: f"{R}/tables/{t}.csv" for t in names}


# The figures of one experiment, results/<dataset>/<experiment>/figures/<name>.pdf|png: their
# inputs, script (default <name>.py) and params; the report caption is workflow/report/<name>.rst.
MODULARITY = table_files("modularity", "sweeps", "metrics")
AGREEMENT = table_files("cluster_similarity", "sweeps", "metrics")
FIGURE_RULES = {
    "fig3": dict(inputs=MODULARITY | dict(sims=example_files("similarity.h5"), clusters=example_files("clusters.h5")),
                 params=dict(titles=lambda wc: example_models(exp(wc))[1],
                             measure=SETTINGS.plots.example_measure)),
    "fig3_z": dict(inputs=MODULARITY),
    "fig4": dict(inputs=table_files("cluster_similarity", "metrics"), script="agreement_figure",
                 params=dict(metric="element_sim", figure="fig4")),
    "figS1": dict(inputs=table_files("metrics", "sweeps")),
    "figS2": dict(inputs=table_files("modularity")),
    "figS3": dict(inputs=MODULARITY, script="by_layer", params=dict(quantity="q")),
    "figS4": dict(inputs=MODULARITY, script="by_layer", params=dict(quantity="n_clusters")),
    "figS5": dict(inputs=AGREEMENT, script="agreement_figure", params=dict(metric="element_sim", figure="figS5")),
    "training_curves": dict(inputs=table_files("history", "sweeps")),
    "lesion_z": dict(inputs=table_files("lesion")),
}
for _name, _spec in FIGURE_RULES.items():
    figure_rule(_name, _spec["inputs"], figure_outputs(_name), _spec.get("script", _name),
                params=_spec.get("params", {}))

# fig4_<metric>, figS5_<metric>: Fig. 4 and Fig. S5 with the other metrics of compare.metrics
figure_rule(
    "agreement_figure_per_metric",
    AGREEMENT,
    dict(pdf=f"{R}/figures/{{figure}}_{{metric}}.pdf",
         png=report(f"{R}/figures/{{figure}}_{{metric}}.png", caption="../report/agreement_metric.rst",
                    category="Figures", subcategory="{experiment}",
                    labels={"figure": "{figure}", "metric": "{metric}"})),
    "agreement_figure",
    file="{figure}_{metric}",
    params=dict(metric=lambda wc: wc.metric, figure=lambda wc: wc.figure),
    constraints=dict(figure="fig4|figS5", metric="nmi|rmi|vi"),
)

# results/summary/figures/q_by_experiment, q_by_depth: Q* across all experiments
figure_rule(
    "summary_figure",
    dict(modularity=f"{SUMMARY}/tables/modularity.csv"),
    dict(pdf=f"{SUMMARY}/figures/{{figure}}.pdf",
         png=report(f"{SUMMARY}/figures/{{figure}}.png", caption="../report/summary_figure.rst",
                    category="Figures", subcategory="all experiments", labels={"figure": "{figure}"})),
    "summary_figure",
    file="{figure}",
    params=dict(figure=lambda wc: wc.figure),
    constraints=dict(figure="|".join(SUMMARY_FIGURES)),
    root=SUMMARY,
)

# results/planted/<dataset>/figures/planted: recovery of planted modules per measure and clustering method
figure_rule(
    "planted_figure",
    dict(recovery=f"{P}/tables/planted_recovery.csv"),
    dict(pdf=f"{P}/figures/planted.pdf",
         png=report(f"{P}/figures/planted.png", caption="../report/planted.rst", category="Planted modules")),
    "planted_figure",
    file="planted",
    root=P,
)
