# Detection mAP of a predictions file against ground truth (tad-eval).


rule evaluate:
    input:
        gt=lambda wc: evaluation(wc)["gt"],
        pred=lambda wc: evaluation(wc)["pred"],
    output:
        "results/eval/{name}.json",
    log:
        "logs/eval/{name}.log",
    params:
        dataset=lambda wc: evaluation(wc)["dataset"],
        flags=evaluation_flags,
    resources:
        mem_mb=4000,
        runtime=10,
    shell:
        "tad-eval --gt {input.gt:q} --pred {input.pred:q} --dataset {params.dataset} {params.flags} --out {output:q} > {log:q} 2>&1"
