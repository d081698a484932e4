rule lesion:
    input:
        model=model_file("model.pt"),
        clusters=model_file("clusters.h5"),
        data=data_file,
    output:
        f"{R}/models/{{model}}/lesion.h5",
    params:
        model_id=lambda wc: wc.model,
        lesion=options("lesion"),
        device=option("training", "device"),
        version=STAGE_VERSION["lesion"],
    log:
        f"{R}/logs/lesion/{{model}}.log",
    benchmark:
        f"{R}/benchmarks/lesion/{{model}}.tsv"
    threads: option("training", "threads")
    resources:
        gpu=1,
    conda:
        "../../envs/torch.yaml"
    script:
        "../scripts/lesion.py"


rule table_lesion:
    input:
        lesions=model_files("lesion.h5"),
        metrics=f"{R}/tables/metrics.csv",
    output:
        table=report(f"{R}/tables/lesion.csv", caption="../report/table_lesion.rst", category="Lesion tests",
                     subcategory="{experiment}"),
        summary=report(f"{R}/tables/lesion_summary.csv", caption="../report/lesion_summary.rst",
                       category="Lesion tests", subcategory="{experiment}"),
        findings=report(f"{R}/tables/lesion_findings.csv", caption="../report/lesion_findings.rst",
                        category="Lesion tests", subcategory="{experiment}"),
    params:
        analysis=options("analysis", exclude=("accuracy_cutoff",)),
    log:
        f"{R}/logs/tables/lesion.log",
    benchmark:
        f"{R}/benchmarks/tables/lesion.tsv"
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/table_lesion.py"
