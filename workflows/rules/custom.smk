# Your own experiment (tad-train new-experiment writes one), by file:
#   snakemake --profile local results/custom/NAME.json --config experiment=my_experiment.yaml
# The file states its data (data.root, data.annotations, data.videos) and weights (backbone.weights); the
# chain is the official one's: train -> infer -> evaluate -> report.


rule custom_train:
    input:
        config=custom_experiment_file,
        annotations=lambda wc: custom_setting("annotations"),
        weights=lambda wc: custom_setting("weights"),
    output:
        "results/custom/{name}/train/summary.json",
    log:
        "logs/custom_train/{name}.log",
    benchmark:
        "logs/custom_train/{name}.benchmark.tsv",
    params:
        launch=launcher(max(config.get("gpus", 0), 1)),
    threads: 2 * config.get("gpus", 0) or 1
    resources:
        gpu=config.get("gpus", 0),
        mem_mb=16000,
        runtime=24 * 60,
    shell:
        "{params.launch} train {input.config:q} --out results/custom/{wildcards.name}/train > {log:q} 2>&1"


rule custom_infer:
    input:
        config=custom_experiment_file,
        summary="results/custom/{name}/train/summary.json",
    output:
        "results/custom/{name}/predictions.json",
    log:
        "logs/custom_infer/{name}.log",
    benchmark:
        "logs/custom_infer/{name}.benchmark.tsv",
    params:
        launch=launcher(1),
    resources:
        gpu=min(config.get("gpus", 0), 1),
        mem_mb=8000,
        runtime=120,
    shell:
        "{params.launch} infer {input.config:q} --checkpoint results/custom/{wildcards.name}/train/checkpoints/last.pt --out {output:q} > {log:q} 2>&1"


rule custom_evaluate:
    input:
        gt=lambda wc: custom_setting("annotations"),
        pred="results/custom/{name}/predictions.json",
    output:
        result="results/custom/metrics/{name}.json",
        plots=report(
            directory("results/custom/plots/{name}"),
            patterns=["{figure}.png"],
            category="custom {name}",
            labels={"experiment": "{name}", "figure": "{figure}"},
        ),
    log:
        "logs/custom_evaluate/{name}.log",
    benchmark:
        "logs/custom_evaluate/{name}.benchmark.tsv",
    params:
        dataset=lambda wc: custom_setting("dataset"),
        subset=lambda wc: custom_setting("test_subset"),
    resources:
        mem_mb=4000,
        runtime=20,
    # `--subset=VALUE`: Snakemake renders an empty value as nothing, and a bare `--subset` takes no value.
    shell:
        "tad-eval --gt {input.gt:q} --pred {input.pred:q} --dataset {params.dataset} --subset={params.subset:q} --out {output.result:q} --plot {output.plots:q} > {log:q} 2>&1"


rule custom_report:
    input:
        metrics="results/custom/metrics/{name}.json",
        summary="results/custom/{name}/train/summary.json",
        pred="results/custom/{name}/predictions.json",
    output:
        result="results/custom/{name}.json",
        table="results/custom/{name}.tsv",
        html=report(
            "results/custom/{name}.html",
            category="custom {name}",
            labels={"experiment": "{name}", "figure": "table"},
        ),
    log:
        "logs/custom_report/{name}.log",
    benchmark:
        "logs/custom_report/{name}.benchmark.tsv",
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "tad-train report --name {wildcards.name} --eval {input.metrics:q} --run results/custom/{wildcards.name}/train --predictions {input.pred:q} --commit $(git rev-parse HEAD 2>/dev/null || echo unknown) --table {output.table:q} --html {output.html:q} --out {output.result:q} > {log:q} 2>&1"
