# The AdaTAD workflow: every official experiment as a target, from raw files to results/<experiment>.json.
# Rules are thin: each calls one library command (training and inference through the launcher
# scripts/tad-train-job, which survives preemption). The configuration (workflows/config/*.yaml) is
# validated against workflows/schemas/config.schema.yaml before any rule runs.
#
# From the repository root, with .venv activated (`local` and `slurm` link to profiles/local and
# profiles/slurm):
#   snakemake --profile local results/demo.json                    # the CPU demo (scripts/demo)
#   snakemake --profile slurm results/thumos_g1536.json            # an official experiment on a cluster
#   snakemake --profile local --resources gpu=2 results/thumos_s768_released.json  # a released model
#   snakemake --report report.html results/demo.json               # HTML report: tables and plots
#   snakemake --profile local results/custom/NAME.json --config experiment=FILE  # your own
from snakemake.utils import min_version

min_version("9.0")


configfile: f"{workflow.basedir}/workflows/config/config.yaml"
configfile: f"{workflow.basedir}/workflows/config/paths.yaml"
configfile: f"{workflow.basedir}/workflows/config/experiments.yaml"


report: "workflows/report/workflow.rst"


include: "workflows/rules/common.smk"


wildcard_constraints:
    target=alternatives(TARGETS),
    training=alternatives(TRAININGS),
    data=alternatives(DATA),
    weights=alternatives(WEIGHTS),
    kind="train|released",
    name="[^/]+",


include: "workflows/rules/data.smk"
include: "workflows/rules/weights.smk"
include: "workflows/rules/train.smk"
include: "workflows/rules/evaluate.smk"
include: "workflows/rules/custom.smk"


rule all:
    input:
        all_targets(),
