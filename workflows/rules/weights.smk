# Pretrained ViT weights: an official checkpoint converted to safetensors with tad-backbone, or, for the CPU
# demo, a tiny ViT pretrained here on synthetic action clips and saved in the official VideoMAE layout.


rule pretrain:
    input:
        lambda wc: annotations_of(WEIGHTS[wc.weights]["pretrain"]["data"]),
    output:
        "resources/weights/{weights}.pth",
    log:
        "logs/pretrain/{weights}.log",
    benchmark:
        "logs/pretrain/{weights}.benchmark.tsv",
    params:
        data=lambda wc: data_folder(WEIGHTS[wc.weights]["pretrain"]["data"]),
        options=lambda wc: " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in WEIGHTS[wc.weights]["pretrain"].items() if k != "data"
        ),
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        "tad-train pretrain --data {params.data:q} {params.options} --out {output:q} > {log:q} 2>&1"


rule convert_weights:
    input:
        weights_source,
    output:
        "resources/weights/{weights}.safetensors",
    log:
        "logs/convert_weights/{weights}.log",
    benchmark:
        "logs/convert_weights/{weights}.benchmark.tsv",
    params:
        format=weights_format,
        arch=weights_arch,
    resources:
        mem_mb=16000,
        runtime=30,
    shell:
        "tad-backbone convert --from {params.format} --arch {params.arch} {input:q} {output:q} > {log:q} 2>&1"
