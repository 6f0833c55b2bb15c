# The AdaTAD workflow. Rules are thin: each calls one library CLI. The configuration is validated
# against workflows/schemas/config.schema.yaml before any rule runs.
#
#   snakemake --cores 1                      # every target of workflows/config/config.yaml
#   snakemake --cores 1 results/eval/NAME.json
from snakemake.utils import min_version

min_version("9.0")


configfile: "workflows/config/config.yaml"


include: "workflows/rules/common.smk"
include: "workflows/rules/evaluate.smk"


rule all:
    input:
        all_targets(),
