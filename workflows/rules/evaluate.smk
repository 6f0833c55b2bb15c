# Classifier fusion of class-agnostic detections (ActivityNet), evaluation with tad-eval, and the result of
# each experiment beside its official row. Also: evaluations of existing prediction files (config.yaml).


rule fuse:
    input:
        raw=lambda wc: f"{run_folder(wc.target)}/predictions.json",
        classifier=classifier_file,
    output:
        "results/fused/{target}.json",
    log:
        "logs/fuse/{target}.log",
    benchmark:
        "logs/fuse/{target}.benchmark.tsv",
    params:
        flags=fusion_flags,
    resources:
        mem_mb=8000,
        runtime=20,
    shell:
        "tad-head fuse --pred {input.raw:q} --classifier {input.classifier:q} {params.flags} --out {output:q} > {log:q} 2>&1"


rule evaluate_experiment:
    input:
        gt=lambda wc: annotations_of(experiment(wc.target)["data"]),
        pred=predictions,
    output:
        result="results/metrics/{target}.json",
        plots=report(
            directory("results/plots/{target}"),
            patterns=["{name}.png"],
            category="{target}",
            labels={"experiment": "{target}", "figure": "{name}"},
        ),
    log:
        "logs/evaluate/{target}.log",
    benchmark:
        "logs/evaluate/{target}.benchmark.tsv",
    params:
        dataset=dataset_of_wildcards,
        flags=evaluation_flags_of,
    resources:
        mem_mb=8000,
        runtime=20,
    shell:
        "tad-eval --gt {input.gt:q} --pred {input.pred:q} --dataset {params.dataset} {params.flags} --out {output.result:q} --plot {output.plots:q} > {log:q} 2>&1"


rule report_experiment:
    input:
        metrics="results/metrics/{target}.json",
        summary=lambda wc: f"{run_folder(wc.target)}/summary.json",
        pred=predictions,
    output:
        result="results/{target}.json",
        table="results/{target}.tsv",
        html=report(
            "results/{target}.html", category="{target}", labels={"experiment": "{target}", "figure": "table"}
        ),
    log:
        "logs/report/{target}.log",
    benchmark:
        "logs/report/{target}.benchmark.tsv",
    params:
        run=lambda wc: run_folder(wc.target),
        official=official_flag,
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "tad-train report --name {wildcards.target} --eval {input.metrics:q} --run {params.run} {params.official} --predictions {input.pred:q} --commit $(git rev-parse HEAD 2>/dev/null || echo unknown) --table {output.table:q} --html {output.html:q} --out {output.result:q} > {log:q} 2>&1"


rule evaluate:
    input:
        gt=lambda wc: evaluation(wc)["gt"],
        pred=lambda wc: evaluation(wc)["pred"],
    output:
        "results/eval/{name}.json",
    log:
        "logs/eval/{name}.log",
    benchmark:
        "logs/eval/{name}.benchmark.tsv",
    params:
        dataset=lambda wc: evaluation(wc)["dataset"],
        flags=evaluation_flags,
    resources:
        mem_mb=4000,
        runtime=10,
    shell:
        "tad-eval --gt {input.gt:q} --pred {input.pred:q} --dataset {params.dataset} {params.flags} --out {output:q} > {log:q} 2>&1"
