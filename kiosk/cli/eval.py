"""``kiosk eval lfw | widerface | utkface | fit-age-gender | calibrate``: the kiosk's own models measured on public data.

Every command runs the kiosk's own path (YuNet detection -> 5-point alignment -> SFace, or the
age/gender estimators) on a dataset folder given as an argument, prints one JSON object to
stdout and shows progress (tqdm) on stderr. A missing or malformed dataset folder exits 2 with
a message naming the file and what was expected. No dataset file is ever copied or cached.
The measurements live in :mod:`kiosk.eval` (``lfw``, ``widerface``, ``utkface``, ``fit_age_gender``, ``calibrate``).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from kiosk.errors import EXIT_OK, KioskError
from kiosk.eval.common import DEFAULT_LFW_THRESHOLD, EvalDataError, EvalModels
from kiosk.eval.lfw import evaluate_lfw
from kiosk.eval.widerface import evaluate_widerface
from kiosk.eval.utkface import evaluate_utkface


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def _unit_interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be within 0..1, got {value}")
    return value


def _cosine(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not -1.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a cosine threshold must be within -1..1, got {value}")
    return value


def _widths(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if any(v < 32 for v in values):
        raise argparse.ArgumentTypeError("input widths must be >= 32")
    return values


def add_eval_parser(subparsers: Any, help_text: str | None = None) -> argparse.ArgumentParser:
    """Add ``eval {lfw,widerface,utkface,fit-age-gender,calibrate}`` to the kiosk's subparsers; returns the ``eval`` parser.

    The lead's ``kiosk/cli/`` calls this and dispatches ``args.command == "eval"`` to :func:`main_eval`.
    """
    # long: argparse declarations of the eval sub-commands and their flags, one block per sub-command,
    # read as the command's help
    ev = subparsers.add_parser("eval", help=help_text)
    esub = ev.add_subparsers(dest="eval_command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--models-dir", type=Path, default=None, help="model folder (default: models/files)")
        p.add_argument("--threads", type=int, default=0, help="onnxruntime threads per model (0: one per core)")
        p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    lfw = esub.add_parser("lfw", help="LFW verification: CV accuracy, accuracy at a threshold, TAR at FAR")
    lfw.add_argument("--root", type=Path, required=True, help="folder with pairs.csv and the images it lists")
    lfw.add_argument("--threshold", type=_cosine, default=DEFAULT_LFW_THRESHOLD,
                     help="fixed cosine threshold to report accuracy at (default 0.363, OpenCV's)")
    lfw.add_argument("--det-score", type=_unit_interval, default=0.75, help="detector score threshold (kiosk default 0.75)")
    lfw.add_argument("--far", type=_unit_interval, default=1e-3, help="FAR for the TAR figure (default 1e-3)")
    lfw.add_argument("--align", choices=("arcface", "box"), default="arcface",
                     help="arcface: the kiosk's 5-point alignment (default); box: detector box resized, for comparison")
    common(lfw)

    wf = esub.add_parser("widerface", help="WIDER FACE AP (official protocol) and recall of large faces")
    wf.add_argument("--root", type=Path, required=True,
                    help="folder with wider_face_val_bbx_gt.txt, difficulty_keep.json and images/")
    wf.add_argument("--det-score", type=_unit_interval, default=0.02,
                    help="detector score threshold while tracing the PR curve (default 0.02)")
    wf.add_argument("--nms-iou", type=_unit_interval, default=0.45, help="NMS IoU (default 0.45, OpenCV Zoo's eval)")
    wf.add_argument("--top-k", type=int, default=5000, help="NMS top_k (default 5000)")
    wf.add_argument("--operating-score", type=_unit_interval, default=0.75,
                    help="score threshold for the large-face recall (the kiosk's default 0.75)")
    wf.add_argument("--min-face-px", type=float, default=64.0, help="'large face' width for the recall figure (default 64)")
    wf.add_argument("--sweep-widths", type=_widths, default=[], metavar="W1,W2,...",
                    help="also evaluate with the image shrunk to these input widths (e.g. 320,640)")
    wf.add_argument("--runtime", action="store_true",
                    help="score the kiosk's runtime detection (config's detector.*, camera-sized frames; "
                         "kiosk/eval/widerface_runtime.py) instead of YuNet at native size")
    wf.add_argument("--config", type=Path, default=None, help="with --runtime: the kiosk configuration (default: defaults)")
    wf.add_argument("--size", default=None, metavar="WxH",
                    help="with --runtime: camera frame size (default: the config's camera.width x height)")
    common(wf)

    utk = esub.add_parser("utkface", help="UTKFace age MAE and gender accuracy, by gender, race and age band")
    utk.add_argument("--root", type=Path, required=True, help="folder with labels.csv and the images it lists")
    utk.add_argument("--pad", type=float, default=0.5, help="black border per side, as a fraction of the crop size (default 0.5)")
    utk.add_argument("--det-score", type=_unit_interval, default=0.75, help="detector score threshold (kiosk default 0.75)")
    utk.add_argument("--uncalibrated", action="store_true",
                     help="the models' own numbers (central interval, softmax): the figures before calibration")
    utk.add_argument("--calibration", type=Path, default=None,
                     help="calibration file to evaluate (default: models/age_gender_calibration.yaml)")
    utk.add_argument("--plot", type=Path, default=None, metavar="DIR",
                     help="write gender_reliability.png and age_coverage_by_band.png into DIR")
    common(utk)

    fit = esub.add_parser("fit-age-gender",
                          help="fit the 80 %% age range and the gender probability calibration on labelled crops")
    fit.add_argument("--root", type=Path, required=True, help="folder with labels.csv (e.g. utkface_calib)")
    fit.add_argument("--pad", type=float, default=0.5, help="black border per side, as a fraction of the crop size")
    fit.add_argument("--det-score", type=_unit_interval, default=0.75, help="detector score threshold (kiosk default 0.75)")
    fit.add_argument("--write", nargs="?", type=Path, const=Path("-default-"), default=None, metavar="PATH",
                     help="store the parameters in models/age_gender_calibration.yaml (or PATH)")
    fit.add_argument("--compare-gender-methods", action="store_true",
                     help="also compare gender calibrations by repeated cross-validation on these faces")
    common(fit)

    cal = esub.add_parser("calibrate", help="cosine thresholds for false-match rates from different-person pairs")
    cal.add_argument("--lfw-root", type=Path, required=True,
                     help="LFW folder: every image under <root>/lfw/<identity>/ is used (identity = folder name)")
    cal.add_argument("--portraits", type=Path, default=None,
                     help="optional portrait folder (metadata.csv path,name; identity = name)")
    cal.add_argument("--extra-impostors", type=Path, action="append", default=[], metavar="CSV",
                     help="more different-person images: an images.csv (path,person; paths relative to its "
                          "folder) or its folder, e.g. ../shared/evaldata/lfw_calib; may be repeated")
    cal.add_argument("--det-score", type=_unit_interval, default=0.75, help="detector score threshold (kiosk default 0.75)")
    cal.add_argument("--bootstrap", type=int, default=200, help="identity bootstrap resamples for the intervals (default 200)")
    cal.add_argument("--write-manifest", nargs="?", type=Path, const=Path("-default-"), default=None, metavar="PATH",
                     help="store the result as calibration.sface in models/manifest.yaml (or PATH)")
    common(cal)
    from kiosk.eval.reid import add_reid_parser
    add_reid_parser(esub, common)
    from kiosk.eval.demographics import add_parser as _add_demographics
    from kiosk.eval.watchlist import add_parser as _add_watchlist

    _add_watchlist(esub, common)
    _add_demographics(esub, common)
    return ev


def run_eval(args: argparse.Namespace) -> dict[str, Any]:
    """Run the evaluation ``args.eval_command`` describes; the JSON-ready result."""
    if getattr(args, "threads", 0) < 0:
        raise EvalDataError(f"--threads must be >= 0, got {args.threads}")
    models = EvalModels(models_dir=getattr(args, "models_dir", None), threads=getattr(args, "threads", 0))
    progress = not getattr(args, "no_progress", False)
    cmd = args.eval_command
    if cmd == "lfw":
        return evaluate_lfw(args.root, models, threshold=args.threshold, det_score=args.det_score, far=args.far,
                            progress=progress, align=args.align)
    if cmd == "widerface" and getattr(args, "runtime", False):
        from kiosk.config import load_config
        from kiosk.eval.widerface_runtime import evaluate_widerface_runtime, parse_size

        try:
            size = parse_size(args.size) if args.size else None
        except ValueError as exc:
            raise EvalDataError(f"--size: {exc}") from None
        op_score = None if args.operating_score == 0.75 else args.operating_score
        return evaluate_widerface_runtime(args.root, models, load_config(args.config), size=size,
                                          det_score=args.det_score, nms_iou=args.nms_iou, top_k=args.top_k,
                                          operating_score=op_score, min_width_px=args.min_face_px,
                                          progress=progress)
    if cmd == "widerface":
        return evaluate_widerface(args.root, models, det_score=args.det_score, nms_iou=args.nms_iou, top_k=args.top_k,
                                  operating_score=args.operating_score, min_width_px=args.min_face_px,
                                  sweep_widths=args.sweep_widths, progress=progress)
    if cmd == "utkface":
        calibration: Any = None if args.uncalibrated else (args.calibration or "default")
        return evaluate_utkface(args.root, models, pad=args.pad, det_score=args.det_score, progress=progress,
                                calibration=calibration, plot_dir=args.plot)
    if cmd == "reid":
        from kiosk.eval.reid import evaluate_reid
        return evaluate_reid(args)
    if cmd == "fit-age-gender":
        from kiosk.eval.fit_age_gender import fit_age_gender
        from kiosk.infer.uncertainty import CALIBRATION_FILE

        write = None if args.write is None else (CALIBRATION_FILE if str(args.write) == "-default-" else args.write)
        return fit_age_gender(args.root, models, pad=args.pad, det_score=args.det_score, progress=progress,
                              write=write, compare_gender_methods=args.compare_gender_methods)
    if cmd == "calibrate":
        from kiosk.eval.calibrate import calibrate, write_manifest_calibration

        result = calibrate(args.lfw_root, args.portraits, models, det_score=args.det_score,
                           bootstrap=args.bootstrap, progress=progress, extra_lists=args.extra_impostors)
        if args.write_manifest is not None:
            target = None if str(args.write_manifest) == "-default-" else args.write_manifest
            result["manifest"] = str(write_manifest_calibration(result, target))
        return result
    if cmd == "watchlist":
        from kiosk.eval.watchlist import run as run_watchlist

        return run_watchlist(args, models, progress)
    if cmd == "demographics":
        from kiosk.eval.demographics import run as run_demographics

        return run_demographics(args, models, progress)
    raise EvalDataError(f"unknown eval command {cmd!r}")


def main_eval(args: argparse.Namespace | Sequence[str]) -> int:
    """``kiosk eval ...``: print the result JSON to stdout; 0 ok, 2 bad dataset folder or model.

    Accepts the parsed namespace from the kiosk's CLI (see :func:`add_eval_parser`) or an argv
    list such as ``["lfw", "--root", "DIR"]`` (for tests and ``python -m kiosk.eval.common``).
    """
    if not isinstance(args, argparse.Namespace):
        parser = argparse.ArgumentParser(prog="kiosk")
        add_eval_parser(parser.add_subparsers(dest="command", required=True))
        args = parser.parse_args(["eval", *args])
    try:
        result = run_eval(args)
    except KioskError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return exc.exit_code
    if args.eval_command == "reid":
        from kiosk.eval.reid import print_result
        print_result(result, args.json)
        return EXIT_OK
    if getattr(args, "eval_command", "") == "watchlist" and not getattr(args, "json", False):
        from kiosk.eval.watchlist import summary

        print(summary(result))
        return EXIT_OK
    print(json.dumps(result, indent=2))
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    sys.exit(main_eval(sys.argv[1:]))
