# Training (tad-train train under torchrun, always resumable), import of the released OpenTAD models, and
# inference of either on the test subset. Training and inference start through scripts/tad-train-job.


rule train:
    input:
        config=lambda wc: experiment_config(wc.training),
        annotations=lambda wc: annotations_of(EXPERIMENTS[wc.training]["data"]),
        probe=lambda wc: probe_report(EXPERIMENTS[wc.training]["data"]),
        weights=lambda wc: weights_of(wc.training),
    output:
        "results/train/{training}/summary.json",
    log:
        "logs/train/{training}.log",
    benchmark:
        "logs/train/{training}.benchmark.tsv",
    params:
        launch=lambda wc: launcher(processes(wc.training)),
        sets=train_settings,
    threads: lambda wc: cpu_threads(wc.training)
    resources:
        gpu=lambda wc: gpus(wc.training),
        mem_mb=lambda wc: 32000 * processes(wc.training) if gpus(wc.training) else 8000,
        runtime=lambda wc: 72 * 60 if gpus(wc.training) else 60,
    # scripts/tad-train-job runs `tad-train train --resume auto` (torchrun with one process per GPU, srun
    # across Slurm tasks) and requeues a preempted Slurm job; a rerun continues from the newest checkpoint.
    shell:
        "{params.launch} train {input.config:q} {params.sets} --out results/train/{wildcards.training} > {log:q} 2>&1"


rule import_released:
    input:
        config=lambda wc: experiment_config(wc.training),
        checkpoint=released_checkpoint,
        annotations=lambda wc: annotations_of(EXPERIMENTS[wc.training]["data"]),
    output:
        "results/released/{training}/summary.json",
    log:
        "logs/import_released/{training}.log",
    benchmark:
        "logs/import_released/{training}.benchmark.tsv",
    params:
        sets=infer_settings,
    resources:
        mem_mb=32000,
        runtime=30,
    shell:
        "tad-train import-opentad {input.checkpoint:q} --config {input.config:q} {params.sets} --out results/released/{wildcards.training} > {log:q} 2>&1"


rule infer:
    input:
        summary="results/{kind}/{training}/summary.json",
        config=lambda wc: experiment_config(wc.training),
        annotations=lambda wc: annotations_of(EXPERIMENTS[wc.training]["data"]),
    output:
        "results/{kind}/{training}/predictions.json",
    log:
        "logs/infer/{kind}_{training}.log",
    benchmark:
        "logs/infer/{kind}_{training}.benchmark.tsv",
    params:
        launch=lambda wc: launcher(processes(wc.training)),
        sets=infer_settings,
        flags=infer_flags,
        checkpoint=lambda wc: "checkpoints/last.pt" if wc.kind == "train" else "checkpoint.pt",
    threads: lambda wc: cpu_threads(wc.training)
    resources:
        gpu=lambda wc: gpus(wc.training),
        mem_mb=lambda wc: 16000 * processes(wc.training) if gpus(wc.training) else 8000,
        runtime=lambda wc: 6 * 60 if gpus(wc.training) else 30,
    shell:
        "{params.launch} infer {input.config:q} {params.sets} --checkpoint results/{wildcards.kind}/{wildcards.training}/{params.checkpoint} {params.flags} --out {output:q} > {log:q} 2>&1"
