"""The ``tad-train`` command: train, infer, import released OpenTAD models, show configurations, extract.

``train``, ``infer``, ``import-opentad``, ``config``, ``plan`` and ``detect`` read an experiment file
(``--set section.field=value`` overrides it); ``report``, ``pretrain``, ``extract`` and ``new-experiment``
take their inputs as options (``new-experiment`` writes an experiment file from a recipe). Bad input exits
with status 2 and one line naming the file, the field and the value. ``train`` and ``infer`` also run under
``torchrun --nproc_per_node=N -m tad_train ...``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tad_backbone.cli import add_extract_options, device_name, positive_int, run_extract

if TYPE_CHECKING:
    from tad_backbone import VideoMAE

__all__ = ["main"]

_BAD_INPUT = 2

_EXAMPLES = {
    "train": """examples:
  tad-data synth --out data/synth --videos 8 --classes 3 --seed 0
  tad-train train libs/tad-train/examples/tiny.yaml --set data.root=data/synth --out work_dirs/tiny
  torchrun --nproc_per_node=2 -m tad_train train workflows/experiments/thumos_s768.yaml --resume auto""",
    "infer": """examples:
  tad-train infer libs/tad-train/examples/tiny.yaml --set data.root=data/synth \\
      --checkpoint work_dirs/tiny/checkpoints/last.pt --out results/tiny_pred.json
  tad-eval --gt data/synth/annotations.json --pred results/tiny_pred.json --dataset thumos14""",
    "import-opentad": """examples:
  tad-train import-opentad adatad_thumos_s.pth --config workflows/experiments/thumos_s768.yaml \\
      --out work_dirs/thumos_s768_released
  tad-train infer workflows/experiments/thumos_s768.yaml \\
      --checkpoint work_dirs/thumos_s768_released/checkpoint.pt --out results/thumos_s768_released.json""",
    "config": """examples:
  tad-train config libs/tad-train/examples/tiny.yaml --set data.root=data/synth
  tad-train config workflows/experiments/thumos_g1536.yaml --set optimizer.backbone_lr=1e-4 --hash""",
    "report": """examples:
  tad-train report --name tiny --eval results/eval/tiny.json --run work_dirs/tiny --out results/tiny.json
  tad-train report --name thumos_s768 --eval results/eval/thumos_s768.json --run results/train/thumos_s768 \\
      --official '{"tiou": [0.3, 0.5, 0.7], "mAP": [83.9, 72.38, 48.27], "average": 69.03}' \\
      --out results/thumos_s768.json""",
    "plan": """examples:
  tad-train plan workflows/experiments/thumos_g1536.yaml --gpus 2
  tad-train plan libs/tad-train/examples/tiny.yaml --set data.root=data/synth --json""",
    "pretrain": """examples:
  tad-data synth --out data/demo --videos 60 --classes 4 --seed 1
  tad-train pretrain --data data/demo --subset training --arch tiny --frames 16 --img 32 --epochs 20 \\
      --out resources/demo/vit_tiny_synth.pth --val-subset validation
  tad-backbone convert --from videomae --arch tiny --img-size 32 resources/demo/vit_tiny_synth.pth \\
      resources/demo/vit_tiny.safetensors""",
    "extract": """examples:
  tad-train extract video.mp4 --weights vit_s.safetensors --img 160 --out video_feats.npy
  tad-train extract video.mp4 --weights adatad_s.safetensors --mode adapter --device cuda --amp fp16 \\
      --length 768 --out feats.npy""",
    "detect": """examples:
  tad-train detect my_video.mp4 clips/ --config libs/tad-train/examples/tiny.yaml \\
      --set data.root=data/synth --checkpoint work_dirs/tiny/checkpoints/last.pt --out detections/
  tad-train detect match.mkv --config workflows/experiments/thumos_s768.yaml \\
      --checkpoint work_dirs/thumos_s768_released/checkpoint.pt --out detections/ --threshold 0.5 --top 20
  tad-train detect talk.webm --config my_anet_experiment.yaml --classifier talk_classes.json \\
      --checkpoint work_dirs/anet/checkpoint.pt --out detections/ --device cuda""",
    "new-experiment": """examples:
  tad-data convert --dataset csv --src labels.csv --videos my_videos --out data/mine/anno.json
  tad-train new-experiment --from thumos_s768 --annotations data/mine/anno.json --videos my_videos \\
      --gpu-mem 24 --out my_experiment.yaml
  tad-train new-experiment --from libs/tad-train/examples/tiny.yaml --annotations data/mine/anno.json \\
      --videos my_videos --out tiny_mine.yaml --set schedule.max_epochs=20""",
}


def _parser() -> argparse.ArgumentParser:
    from tad_train import __version__

    parser = argparse.ArgumentParser(
        prog="tad-train",
        description="AdaTAD end to end: train, infer, import released OpenTAD models.",
        epilog=_EXAMPLES["train"] + "\n" + _EXAMPLES["infer"].removeprefix("examples:"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tad-train {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, config: str | None = "positional") -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=summary,
            description=summary,
            epilog=_EXAMPLES[name],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if config == "positional":
            sub.add_argument("config", metavar="CONFIG", type=Path, help="experiment YAML file")
        elif config == "option":
            sub.add_argument("--config", type=Path, required=True, help="the experiment YAML file")
        if config is not None:
            sub.add_argument(
                "--set",
                dest="overrides",
                action="append",
                default=[],
                metavar="KEY=VALUE",
                help="override a setting, e.g. --set optimizer.lr=2e-4 (repeatable; values are YAML)",
            )
        return sub

    train = command("train", "train an experiment (one process, or one per GPU under torchrun)")
    train.add_argument("--out", type=Path, help="run folder (default: work_dirs/<experiment name>)")
    train.add_argument(
        "--resume",
        metavar="auto|PATH",
        help="continue from a checkpoint: 'auto' takes the newest complete one in OUT/checkpoints",
    )
    train.add_argument(
        "--force-resume", action="store_true", help="resume even if the checkpoint's configuration differs"
    )

    infer = command("infer", "write the predictions of a checkpoint on the test subset")
    infer.add_argument("--checkpoint", type=Path, required=True, help="tad-train checkpoint (.pt)")
    infer.add_argument("--out", type=Path, required=True, help="predictions file (tad-eval JSON)")
    infer.add_argument(
        "--raw",
        action="store_true",
        help="class-agnostic output before classifier fusion (for tad-head fuse)",
    )
    infer.add_argument(
        "--weights", choices=("ema", "model"), default="ema", help="which weights (default: EMA, if saved)"
    )

    imported = command(
        "import-opentad", "turn a released OpenTAD AdaTAD checkpoint into a tad-train one", config="option"
    )
    imported.add_argument("checkpoint", metavar="CKPT", type=Path, help="OpenTAD .pth file")
    imported.add_argument(
        "--out", type=Path, required=True, help="folder for checkpoint.pt, config.yaml and summary.json"
    )

    show = command("config", "print the resolved configuration")
    show.add_argument("--hash", action="store_true", help="print only the configuration hash")

    report = command(
        "report", "one experiment's result: mAP beside the official row, with provenance", config=None
    )
    report.add_argument("--name", required=True, help="the experiment's name")
    report.add_argument("--eval", dest="evaluation", type=Path, required=True, help="tad-eval RESULT.json")
    report.add_argument("--run", type=Path, required=True, help="run folder (summary.json, config.yaml)")
    report.add_argument("--official", type=_json, help='the official row as JSON: {"tiou", "mAP", "average"}')
    report.add_argument("--predictions", type=Path, help="the evaluated predictions file (recorded)")
    report.add_argument("--commit", help="the repository commit (recorded)")
    report.add_argument(
        "--table", type=Path, help="also write the mAP table (tIoU, this result, official) as TSV"
    )
    report.add_argument("--html", type=Path, help="also write the mAP table as an HTML page")
    report.add_argument("--out", type=Path, required=True, help="the result JSON to write")

    plan = command("plan", "the memory planner's peak per GPU for an experiment (tad-backbone plan)")
    plan.add_argument("--gpus", type=positive_int, default=1, help="processes the global batch is split over")
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    from tad_train.pretrain_config import PretrainConfig

    defaults = PretrainConfig()
    pretrain = command(
        "pretrain",
        "pretrain a ViT to classify the action and background clips of an annotated dataset, saved in the "
        "official VideoMAE layout",
        config=None,
    )
    pretrain.add_argument(
        "--data", type=Path, required=True, help="dataset folder with annotations.json and videos/ (tad-data)"
    )
    pretrain.add_argument("--subset", default="training", help="subset cut into clips (default: training)")
    pretrain.add_argument(
        "--arch", default=defaults.arch, help=f"tad-backbone architecture ({defaults.arch})"
    )
    pretrain.add_argument(
        "--frames", type=positive_int, default=defaults.frames, help=f"frames per clip ({defaults.frames})"
    )
    pretrain.add_argument(
        "--frame-stride",
        type=positive_int,
        default=defaults.frame_stride,
        help=f"raw frames between clip frames ({defaults.frame_stride})",
    )
    pretrain.add_argument(
        "--img", type=positive_int, default=defaults.img, help=f"crop side ({defaults.img} px)"
    )
    pretrain.add_argument(
        "--epochs",
        type=positive_int,
        default=defaults.epochs,
        help=f"passes over the clips ({defaults.epochs})",
    )
    pretrain.add_argument(
        "--batch-size",
        type=positive_int,
        default=defaults.batch_size,
        help=f"clips per step ({defaults.batch_size})",
    )
    pretrain.add_argument("--lr", type=float, default=defaults.lr, help=f"AdamW peak rate ({defaults.lr:g})")
    pretrain.add_argument("--seed", type=int, default=defaults.seed, help=f"random seed ({defaults.seed})")
    pretrain.add_argument("--val-subset", help="also print the clip accuracy on this held-out subset")
    pretrain.add_argument("--out", type=Path, required=True, help="output .pth (official VideoMAE layout)")

    extract = command("extract", "pooled backbone features of a video file, [C, N] float32 .npy", config=None)
    extract.add_argument("video", metavar="VIDEO", type=Path, help="video file (any format decord reads)")
    extract.add_argument("--img", type=positive_int, default=160, help="short-side resize and centre crop")
    add_extract_options(extract)

    detect = command(
        "detect",
        "detect actions in video files: OUT/<name>.json (tad-eval format) and a timeline OUT/<name>.png",
        config="option",
    )
    detect.add_argument(
        "videos",
        metavar="VIDEO",
        type=Path,
        nargs="+",
        help="video files (any format decord reads) or folders of them",
    )
    detect.add_argument("--checkpoint", type=Path, required=True, help="tad-train checkpoint (.pt)")
    detect.add_argument(
        "--out",
        type=Path,
        required=True,
        help="folder for <name>.json and <name>.png; <name> is the file name without its extension, with it "
        "where two files share a stem, after their folders where they share the name (a/x.mp4, b/x.mp4: "
        "a_x.mp4, b_x.mp4)",
    )
    detect.add_argument("--threshold", type=_score, default=0.3, help="lowest score kept (default 0.3)")
    detect.add_argument(
        "--top", type=positive_int, default=50, help="most detections kept per video (default 50)"
    )
    detect.add_argument(
        "--classifier",
        type=Path,
        help="class-agnostic experiments: video classifier JSON keyed by video name (tad-head fuse format); "
        "without it segments are labelled 'action'",
    )
    detect.add_argument(
        "--device",
        type=device_name,
        help="cpu, cuda, cuda:N or mps (default: the experiment's trainer.device; auto: cuda when available, "
        "else cpu)",
    )
    detect.add_argument(
        "--weights", choices=("ema", "model"), default="ema", help="which weights (default: EMA, if saved)"
    )

    new = command(
        "new-experiment",
        "write a complete experiment file for your own labelled videos from an official recipe",
        config=None,
    )
    new.add_argument(
        "--from",
        dest="recipe",
        required=True,
        metavar="RECIPE",
        help="an official experiment's name (workflows/experiments/<name>.yaml) or any experiment file",
    )
    new.add_argument("--annotations", type=Path, required=True, help="annotation file (tad-data convert)")
    new.add_argument("--videos", type=Path, required=True, help="folder of the annotated videos")
    new.add_argument("--out", type=Path, required=True, help="the experiment file to write (.yaml)")
    new.add_argument("--name", help="the experiment's name (default: the --out file name without .yaml)")
    new.add_argument(
        "--gpu-mem", type=_gib, metavar="GIB", help="memory of one GPU: the planner chooses the batch size"
    )
    new.add_argument("--gpus", type=positive_int, default=1, help="GPUs to train on (default 1)")
    new.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a value of the result, e.g. --set schedule.max_epochs=20 (repeatable)",
    )
    return parser


def _gib(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected GiB as a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected GiB as a positive number, got {text!r}")
    return value


def _score(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a score between 0 and 1, got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a score between 0 and 1, got {text!r}")
    return value


def _json(text: str) -> object:
    """The parsed JSON text (checked by the command that reads it)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not JSON: {error}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; returns the exit status (0, 2 for bad input, 75 after a preemption checkpoint)."""
    args = _parser().parse_args(argv)
    from tad_data import TadDataError
    from tad_eval import InputError

    try:
        return _COMMANDS[args.command](args)
    except (InputError, TadDataError) as error:  # other errors are bugs: their traceback helps
        print(f"tad-train {args.command}: error: {error}".replace("\n", " "), file=sys.stderr)
    except OSError as error:
        print(f"tad-train {args.command}: error: {error.filename}: {error.strerror}", file=sys.stderr)
    return _BAD_INPUT


def _train(args: argparse.Namespace) -> int:
    from tad_train.config import load_config
    from tad_train.runtime import setup_runtime, shutdown_runtime
    from tad_train.trainer import Trainer

    config = load_config(args.config, args.overrides)
    runtime = setup_runtime(config.trainer.device, config.source)
    try:
        trainer = Trainer(config, args.out or Path("work_dirs") / config.name, runtime)
        return trainer.fit(args.resume, args.force_resume)
    finally:
        shutdown_runtime()


def _infer(args: argparse.Namespace) -> int:
    import torch

    from tad_backbone import load_state_dict_checked
    from tad_eval import write_predictions
    from tad_train.config import load_config
    from tad_train.evaluate import run_inference
    from tad_train.model import build_model
    from tad_train.runtime import setup_runtime, shutdown_runtime

    config = load_config(args.config, args.overrides)
    weights = _checkpoint_weights(args.checkpoint, args.weights)
    runtime = setup_runtime(config.trainer.device, config.source)
    try:
        torch.manual_seed(config.trainer.seed)
        model = build_model(config, pretrained=False)
        load_state_dict_checked(model, weights, str(args.checkpoint))
        results = run_inference(config, model.to(runtime.device), runtime, raw=args.raw)
        if results is not None:
            write_predictions(args.out, results)
            count = sum(len(v) for v in results.values())
            print(f"{args.out}: {count} detections in {len(results)} videos")
        return 0
    finally:
        shutdown_runtime()


def _import_opentad(args: argparse.Namespace) -> int:
    from tad_backbone import load_state_dict_checked, read_checkpoint
    from tad_eval import atomic_write
    from tad_train.checkpoints import write_checkpoint
    from tad_train.config import config_hash, config_to_dict, dump_config, load_config
    from tad_train.model import build_model, convert_opentad_checkpoint
    from tad_train.trainer import file_sha256, library_versions

    config = load_config(args.config, args.overrides)
    checkpoint = read_checkpoint(args.checkpoint)
    model = build_model(config, pretrained=False)
    imported = convert_opentad_checkpoint(checkpoint, model, str(args.checkpoint))
    load_state_dict_checked(model, imported.state_dict, str(args.checkpoint))
    digest, hashed = file_sha256(args.checkpoint), config_hash(config)
    source = {"file": str(args.checkpoint), "sha256": digest, "container": imported.container}
    state = model.state_dict()
    write_checkpoint(
        args.out / "checkpoint.pt",
        {
            "model": state,
            "ema": state,
            "epoch": checkpoint.get("epoch"),
            "config_hash": hashed,
            "config": config_to_dict(config),
            "source": source,
            "versions": library_versions(),
        },
    )
    with atomic_write(args.out / "config.yaml") as handle:
        handle.write(dump_config(config))
    summary = {
        "kind": "imported",
        "experiment": config.name,
        "config_hash": hashed,
        "checkpoint": str(args.out / "checkpoint.pt"),
        "checkpoint_sha256": file_sha256(args.out / "checkpoint.pt"),
        "source": source,
        "unused_keys": list(imported.unused),
        "versions": library_versions(),
    }
    with atomic_write(args.out / "summary.json") as handle:
        json.dump(summary, handle, indent=2)
        handle.write("\n")
    print(
        f"{args.out / 'checkpoint.pt'}: {config.name} from {args.checkpoint} "
        f"({imported.container or 'top level'}, sha256 {digest[:12]}); {len(imported.unused)} unused key(s)"
        + (f": {', '.join(imported.unused)}" if imported.unused else "")
    )
    return 0


def _config(args: argparse.Namespace) -> int:
    from tad_train.config import config_hash, dump_config, load_config

    config = load_config(args.config, args.overrides)
    print(config_hash(config) if args.hash else dump_config(config), end="\n" if args.hash else "")
    return 0


def _report(args: argparse.Namespace) -> int:
    from tad_eval import atomic_write
    from tad_train.report import experiment_report, report_html, report_table

    document = experiment_report(
        args.name, args.evaluation, args.run, args.official, args.predictions, args.commit
    )
    with atomic_write(args.out) as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")
    if args.table:
        with atomic_write(args.table) as handle:
            handle.write(report_table(document))
    if args.html:
        with atomic_write(args.html) as handle:
            handle.write(report_html(document))
    print(f"{args.name}: average mAP {document['average_mAP']:.2f}", end="")
    if document["difference"] and document["difference"]["average"] is not None:
        official, difference = document["official"]["average"], document["difference"]["average"]
        print(f" (official {official:.2f}, {difference:+.2f})", end="")
    print(f" -> {args.out}")
    return 0


def _plan(args: argparse.Namespace) -> int:
    from tad_train.config import load_config
    from tad_train.memory import AMP_PLAN_DTYPES, experiment_memory_plan

    config = load_config(args.config, args.overrides, num_classes=1)  # the class count does not matter here
    per_gpu = max(config.trainer.batch_size // args.gpus, 1)
    dtype = AMP_PLAN_DTYPES[config.trainer.amp]
    plan = experiment_memory_plan(config, per_gpu, args.gpus)
    if args.json:
        print(json.dumps({**plan.as_dict(), "batch_per_gpu": per_gpu, "gpus": args.gpus}))
        return 0
    gib = 2**30
    print(
        f"{config.name}: {config.backbone.arch} {config.backbone.model.mode}, {config.window.frames} "
        f"frames at {config.augment.crop_size} px, {per_gpu} video(s) per GPU, {dtype}: peak "
        f"{plan.peak_bytes / gib:.1f} GiB per GPU ({plan.peak_phase}); budget "
        f"{(plan.peak_bytes + plan.reserve_bytes) / gib:.1f} GiB"
    )
    return 0


def _pretrain(args: argparse.Namespace) -> int:
    from tad_eval import InputError
    from tad_train.pretrain import (
        EpochStats,
        PretrainConfig,
        clip_accuracy,
        load_clips,
        pretrain,
        save_pretrained,
    )

    config = PretrainConfig(
        arch=args.arch,
        frames=args.frames,
        frame_stride=args.frame_stride,
        img=args.img,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
    )
    config.check("command line")
    if not args.data.is_dir():
        raise InputError(args.data, "--data", "not a folder (expected annotations.json and videos/)")
    annotations, videos = args.data / "annotations.json", args.data / "videos"
    clips = load_clips(annotations, videos, args.subset, config)
    counts = ", ".join(f"{name} {count}" for name, count in clips.counts().items())
    print(
        f"tad-train pretrain: {len(clips.spans)} clips from {len(clips.videos)} videos ({counts})",
        file=sys.stderr,
    )

    def report(stats: EpochStats) -> None:
        print(
            f"epoch {stats.epoch}/{config.epochs}: loss {stats.loss:.4f}, clip accuracy {stats.accuracy:.3f} "
            f"({stats.seconds:.1f} s)",
            file=sys.stderr,
            flush=True,
        )

    model, _ = pretrain(clips, config, report)
    save_pretrained(args.out, model, clips.classes, config.epochs)
    if args.val_subset:
        held_out = load_clips(annotations, videos, args.val_subset, config)
        accuracy = clip_accuracy(model, held_out, config)
        print(f"held-out clip accuracy on {args.val_subset!r}: {accuracy:.3f} ({len(held_out.spans)} clips)")
    print(
        f"{args.out}: {config.arch} ViT pretrained on {len(clips.classes)} classes, {config.epochs} epochs "
        f"(official VideoMAE layout; convert with tad-backbone convert --from videomae --arch {config.arch})"
    )
    return 0


def _extract(args: argparse.Namespace) -> int:
    from tad_eval import InputError
    from tad_train.video import VideoFrames

    def open_frames(model: VideoMAE) -> VideoFrames:
        if args.img < model.config.patch_size:
            patch = model.config.patch_size
            raise InputError("--img", str(args.img), f"smaller than the {patch} px patch of {args.weights}")
        return VideoFrames(args.video, args.img)

    return run_extract(args, open_frames)


def _detect(args: argparse.Namespace) -> int:
    import dataclasses

    import torch

    from tad_backbone import load_state_dict_checked
    from tad_data import TadDataError
    from tad_eval import InputError
    from tad_train.config import ClassifierConfig, check_classes, load_config, read_classes
    from tad_train.detect import detect_video, expand_videos, video_names, write_detection_files
    from tad_train.model import build_model

    try:
        import matplotlib  # noqa: F401 - checked before hours of decoding, not after
    except ImportError:
        raise InputError("--out", "picture", "needs matplotlib: pip install 'tad-train[plot]'") from None
    config = load_config(args.config, args.overrides)
    agnostic = config.data.class_agnostic
    classes = () if agnostic else read_classes(config.data)
    check_classes(config, classes)
    classifier = None
    if args.classifier is not None:
        if not agnostic:
            raise InputError(args.classifier, "--classifier", "labels class-agnostic experiments only")
        settings = config.evaluation.classifier or ClassifierConfig(path=str(args.classifier))
        classifier = dataclasses.replace(settings, path=str(args.classifier))
    device = torch.device(_device(args.device, config.trainer.device, args.config))
    videos = expand_videos(args.videos)
    if not videos:
        raise InputError(" ".join(map(str, args.videos)), "VIDEO", "no video file")
    names = video_names(videos)
    model = build_model(config, pretrained=False)
    load_state_dict_checked(model, _checkpoint_weights(args.checkpoint, args.weights), str(args.checkpoint))
    model = model.to(device).eval()
    failed = 0
    for path, name in zip(videos, names, strict=True):
        try:
            detected = detect_video(model, config, path, name, classes, classifier)
            json_path, png_path, kept = write_detection_files(
                detected, args.out, args.threshold, args.top, classes or ("action",)
            )
        except (InputError, TadDataError) as error:
            failed += 1
            print(f"tad-train detect: error: {_last_line(error)}", file=sys.stderr)
            continue
        print(f"{path}: {kept} detection(s) -> {json_path}, {png_path}")
    if failed:
        print(f"tad-train detect: {failed} of {len(videos)} video(s) failed (above)", file=sys.stderr)
    return _BAD_INPUT if failed else 0


def _new_experiment(args: argparse.Namespace) -> int:
    from tad_eval import atomic_write
    from tad_train.new_experiment import new_experiment

    made = new_experiment(
        args.recipe,
        args.annotations,
        args.videos,
        args.out,
        args.name,
        args.gpu_mem,
        args.gpus,
        args.overrides,
    )
    with atomic_write(args.out) as handle:
        handle.write(made.text)
    for warning in made.warnings:
        print(f"tad-train new-experiment: warning: {warning}", file=sys.stderr)
    config = made.config
    print(
        f"{args.out}: {config.name} from {args.recipe}: {config.head.num_classes} class(es), window "
        f"{config.window.size} steps, batch {config.trainer.batch_size} x {config.trainer.grad_accumulation} "
        f"accumulated; train with: tad-train train {args.out}"
    )
    return 0


def _device(chosen: str | None, configured: str, source: object) -> str:
    """``--device`` as given (checked by ``device_name`` when parsed), else ``configured`` (an experiment's
    ``trainer.device``, from ``source``), where ``auto`` is cuda when available, else cpu.

    Raises:
        InputError: ``configured`` names a device this machine lacks.
    """
    import torch

    from tad_eval import InputError

    if chosen is not None:
        return chosen
    if configured == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        return device_name(configured)
    except argparse.ArgumentTypeError as error:
        raise InputError(source, "trainer.device", str(error)) from None


def _checkpoint_weights(path: Path, which: str) -> dict:
    """The state dict of a tad-train checkpoint: ``model``, or ``ema`` (falling back to ``model``)."""
    from tad_backbone import read_checkpoint
    from tad_eval import InputError

    payload = read_checkpoint(path)
    weights = payload.get(which) if which == "model" else payload.get("ema") or payload.get("model")
    if not isinstance(weights, dict):
        raise InputError(path, which, "not in the checkpoint (is it a tad-train checkpoint?)")
    return weights


def _last_line(error: Exception) -> str:
    """The message of an error, raised here or in a DataLoader worker (whose message ends with it)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    last = lines[-1]
    return last.split(": ", 1)[1] if len(lines) > 1 and last.split(":", 1)[0].endswith("Error") else last


_COMMANDS = {
    "train": _train,
    "infer": _infer,
    "import-opentad": _import_opentad,
    "config": _config,
    "report": _report,
    "plan": _plan,
    "pretrain": _pretrain,
    "extract": _extract,
    "detect": _detect,
    "new-experiment": _new_experiment,
}
