# Data: official annotation files converted to tad-data's format, the videos checked against them, and the
# synthetic videos of the CPU demo.


rule prepare_annotations:
    input:
        official_annotations,
    output:
        annotations="resources/data/{data}/annotations.json",
        classes="resources/data/{data}/annotations.classes.txt",
        missing="resources/data/{data}/annotations.missing.txt",
    log:
        "logs/prepare_annotations/{data}.log",
    benchmark:
        "logs/prepare_annotations/{data}.benchmark.tsv",
    params:
        dataset=lambda wc: DATA[wc.data]["dataset"],
        videos=lambda wc: videos_of(wc.data, f"data {wc.data}"),
        task=lambda wc: f"--task {DATA[wc.data]['task']}" if DATA[wc.data].get("task") else "",
    resources:
        mem_mb=8000,
        runtime=120,
    shell:
        "tad-data convert --dataset {params.dataset} --src {input:q} --videos {params.videos:q} {params.task} --out {output.annotations:q} > {log:q} 2>&1"


rule check_videos:
    input:
        "resources/data/{data}/annotations.json",
    output:
        "resources/data/{data}/probe.txt",
    log:
        "logs/check_videos/{data}.log",
    benchmark:
        "logs/check_videos/{data}.benchmark.tsv",
    params:
        videos=lambda wc: videos_of(wc.data, f"data {wc.data}"),
        prefix=lambda wc: DATA[wc.data].get("video_prefix", ""),
    resources:
        mem_mb=4000,
        runtime=120,
    # Exit 1 lists problems (kept in the report; missing videos are left out of training), 2 is bad input.
    # `--prefix=VALUE`: Snakemake renders an empty value as nothing, and a bare `--prefix` takes no value.
    shell:
        "tad-data probe --videos {params.videos:q} --anno {input:q} --prefix={params.prefix:q} > {output:q} 2> {log:q} || [ $? -eq 1 ]"


rule synthesize:
    output:
        "resources/synthetic/{data}/annotations.json",
        "resources/synthetic/{data}/annotations.classes.txt",
    log:
        "logs/synthesize/{data}.log",
    benchmark:
        "logs/synthesize/{data}.benchmark.tsv",
    params:
        options=lambda wc: " ".join(f"--{k} {v}" for k, v in DATA[wc.data]["synthetic"].items()),
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        "tad-data synth --out resources/synthetic/{wildcards.data} {params.options} > {log:q} 2>&1"
