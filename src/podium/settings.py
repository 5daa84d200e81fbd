"""The params sections as plain, typed dataclasses: the schema params.yaml is checked against, and the
configuration types library functions take. No torch import here: every stage loads this first."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from podium.errors import PodiumError


class ParamsError(PodiumError, ValueError):
    """params.yaml does not match what podium expects."""


_ANY = None


def _bounds(section, **limits: tuple[float | None, float | None]) -> None:
    """Each named field (or every item of a list field) lies in [low, high] (None: unbounded), else a
    ParamsError naming the field and the range; the params loader adds the section's path."""
    for name, (low, high) in limits.items():
        value = getattr(section, name)
        for v in value if isinstance(value, list) else [value]:
            if (low is not None and v < low) or (high is not None and v > high):
                allowed = (
                    f"[{low}, {high}]"
                    if low is not None and high is not None
                    else (f">= {low}" if low is not None else f"<= {high}")
                )
                raise ParamsError(f"{name} must be {allowed}, got {value!r}")


def _not_empty(section, *names: str) -> None:
    for name in names:
        if not getattr(section, name):
            raise ParamsError(f"{name} must not be empty")


AUDIO_BASELINES = ("small_cnn", "cnn_gru", "cnn_lstm")  # keys of podium.audio.models.BASELINES
DetectorName = Literal["vfnet", "cascade_rcnn", "faster_rcnn"]  # keys of podium.detection.config.BASE_CONFIGS


@dataclass(frozen=True)
class Models:
    """The models in play. dvc.yaml's matrix trains and predicts each on every fold; tune_ensemble and submit
    combine them. Each listed model needs a `per_model` entry in its task's per-model sections."""

    detection: list[DetectorName]
    audio: list[str]  # podium baselines (AUDIO_BASELINES) or any timm model name (checked against timm's list)


Task = Literal["detection", "audio"]


@dataclass(frozen=True)
class DetectionFormat:
    """A detection competition's submission rows and metric. A row is `id_column,column`; `column` holds
    space-separated groups, each its `fields` in order (`class`, `score`, `box`: four numbers), or `empty`."""

    metric: Literal["coco_map", "wheat_precision", "voc_map"]  # podium.metrics.competition
    iou_thr: float  # voc_map's IoU threshold
    empty_images: Literal["excluded", "one"]  # wheat_precision: an image with no truth and no prediction
    no_finding: str  # an image-level class of `classes` (VinBigData's "No finding"), scored on every image; ""
    id_column: str
    column: str
    box: Literal["xyxy", "xywh"]  # pixels of the original image: x_min y_min x_max y_max | x_min y_min width height
    fields: list[Literal["class", "score", "box"]]
    class_as: Literal["name", "id"]  # a class written as its name or its index in the class list
    empty: str  # the whole prediction of an image without boxes
    classes: list[str]  # the competition's classes, in its order (class_as: id writes the index)

    def __post_init__(self):
        _bounds(self, iou_thr=(0.01, 0.99))
        _not_empty(self, "classes")
        if len(set(self.classes)) != len(self.classes):
            raise ParamsError(f"classes lists a class twice: {self.classes}")
        if self.no_finding and self.no_finding not in self.classes:
            raise ParamsError(f"no_finding {self.no_finding!r} is not one of classes {self.classes}")
        if sorted(self.fields) not in (["box", "class", "score"], ["box", "score"]):
            raise ParamsError(f"fields must be score and box, with or without class, in any order; got {self.fields}")


@dataclass(frozen=True)
class AudioFormat:
    metric: Literal["accuracy"]
    id_column: str
    column: str
    labels: list[str]  # the competition's labels

    def __post_init__(self):
        _not_empty(self, "labels")


@dataclass(frozen=True)
class Competition:
    """The one competition podium runs: its name, the tasks it has (the others' stages run nothing and need
    no data) and what its submissions look like."""

    name: str  # Kaggle's URL name, or `embedded` (podium's own two-task competition)
    tasks: list[Task]
    detection: DetectionFormat
    audio: AudioFormat

    def __post_init__(self):
        _not_empty(self, "name", "tasks")
        if len(set(self.tasks)) != len(self.tasks):
            raise ParamsError(f"tasks lists a task twice: {self.tasks}")


@dataclass(frozen=True)
class Common:
    seed: int
    sample_rate: int  # Hz; every clip is resampled to this rate, mono
    clip_seconds: float  # every clip is padded/cropped to this length

    def __post_init__(self):
        _bounds(self, sample_rate=(1000, _ANY), clip_seconds=(0.01, _ANY))


@dataclass(frozen=True)
class Numerics:
    """How torch computes in every training and prediction stage (podium.devices.pin_numerics)."""

    mode: Literal["exact", "fast"]  # exact: the same bytes on any x86-64 CPU with AVX2; fast: this machine's best
    threads: int  # exact: torch's intra-op threads on every machine (results depend on the number)

    def __post_init__(self):
        _bounds(self, threads=(1, 1024))


@dataclass(frozen=True)
class GenericDetection:
    """A detection competition's own files (download.layout: generic), paths relative to its download's root."""

    format: Literal["coco", "csv", "yolo"]
    annotations: str  # COCO json, CSV file (one row per box) or YOLO labels folder
    images: str  # training images folder
    test_images: str
    sample_submission: str
    image_column: str  # csv: the image's file name, or its id (then image_suffix is added)
    image_suffix: str  # csv: e.g. ".jpg"
    class_column: str  # csv: "" for one class (the first of competition.detection.classes)
    box_columns: list[str]  # csv: one column holding "[a, b, c, d]", or four columns
    box: Literal["xyxy", "xywh"]  # csv: pixels


@dataclass(frozen=True)
class GenericAudio:
    """An audio competition's own files (download.layout: generic), paths relative to its download's root."""

    format: Literal["folders", "csv"]
    path: str  # folders: a folder per label; csv: path,label[,speaker] rows
    clips: str  # csv: the folder its paths are relative to
    test_clips: str
    sample_submission: str


@dataclass(frozen=True)
class GenericLayout:
    detection: GenericDetection
    audio: GenericAudio


@dataclass(frozen=True)
class Download:
    source: Literal["synthetic", "local", "url", "kaggle"]
    layout: Literal[
        "podium",
        "global-wheat-detection",
        "tensorflow-speech-recognition-challenge",
        "vinbigdata-chest-xray-abnormalities-detection",
        "generic",
    ]  # the files' own arrangement (podium.data.adapters)
    local_path: str
    url: str
    sha256: str
    kaggle_competition: str
    detection_train_images: int
    detection_test_images: int
    image_size: int
    max_objects: int
    empty_fraction: float
    audio_train_per_word: int
    audio_test_per_word: int
    unseen_voice_fraction: float
    noise_clips: int
    unknown_fraction: float  # speech challenge: share of the other words' clips kept, labelled `unknown`
    silence_fraction: float  # speech challenge: `silence` clips (1 s cuts of the background noise), as a share
    # of the training set they join
    fuse_radiologists: bool  # VinBigData: each image's readers' boxes fused by WBF before training
    fuse_iou_thr: float  # VinBigData: WBF's IoU threshold for that
    generic: GenericLayout  # layout: generic: where the files are and how they are written

    def __post_init__(self):
        _bounds(
            self,
            unknown_fraction=(0, 1),
            fuse_iou_thr=(0.01, 1),
            silence_fraction=(0, 0.9),
            detection_train_images=(0, _ANY),
            detection_test_images=(0, _ANY),
            image_size=(32, _ANY),
            max_objects=(0, _ANY),
            empty_fraction=(0, 1),
            audio_train_per_word=(0, _ANY),
            audio_test_per_word=(0, _ANY),
            unseen_voice_fraction=(0, 1),
            noise_clips=(0, _ANY),
        )


@dataclass(frozen=True)
class DetectionSource:
    name: str
    format: Literal["coco", "csv", "yolo"]
    path: str  # annotation file (coco, csv) or labels folder (yolo), relative to the external data folder
    images: str  # image folder, relative to the external data folder
    classes: dict[str, str]  # the source's class name -> the competition's class name; unlisted are bad


@dataclass(frozen=True)
class AudioSource:
    name: str
    format: Literal["folders", "csv"]
    path: str  # root folder (folders) or CSV file (csv), relative to the external data folder
    labels: dict[str, str]  # the source's label -> the competition's label; unlisted labels are skipped


@dataclass(frozen=True)
class MergeExternal:
    on_bad_sample: Literal["drop", "fail"]
    detection_sources: list[DetectionSource]
    audio_sources: list[AudioSource]


@dataclass(frozen=True)
class SplitFolds:
    folds: list[int]  # 0..K-1; a list (not K) so dvc.yaml's matrix can expand one training stage per fold
    external_train_only: bool  # external samples get fold -1: always trained on, never validated
    warn_class_share: float  # warn when one class is more than this share of the training boxes or clips

    def __post_init__(self):
        _bounds(self, warn_class_share=(0, 1))
        if len(self.folds) < 2 or self.folds != list(range(len(self.folds))):
            raise ParamsError(f"split_folds.folds must be [0, 1, ..., K-1] with K >= 2, got {self.folds}")


@dataclass(frozen=True)
class AugmentOp:
    p: float  # probability that a clone gets this op
    weak: float  # strength in [0, 1] under the weak policy (podium.augment.policy says what it scales)
    strong: float  # strength under the strong policy

    def __post_init__(self):
        if not 0 <= self.p <= 1 or not 0 <= self.weak <= 1 or not 0 <= self.strong <= 1:
            raise ParamsError(f"augment op {self}: p, weak and strong must lie in [0, 1]")


@dataclass(frozen=True)
class AugmentConfig:
    detection_clones: int  # augmented copies written per training image (0 = off)
    audio_clones: int  # augmented copies written per training clip (0 = off)
    strong_fraction: float  # share of clones made with the strong policy, the rest weak
    min_visibility: float  # a box keeping less of its area inside the clone is dropped; others are clipped
    min_box_size: float  # px; boxes narrower or shorter after augmentation are dropped
    min_rms_db: float  # dBFS; an audio clone quieter than this counts as silent (a failed clone)
    retries: int  # new draws for a failed clone before it is skipped (and reported)
    workers: int  # processes; 0 = all cores
    preview: int  # samples shown in each preview grid (>= 1: the grids are declared plots)
    image_ops: dict[str, AugmentOp]  # applied in this order; names in podium.augment.policy.IMAGE_OPS
    audio_ops: dict[str, AugmentOp]  # names in podium.augment.policy.AUDIO_OP_NAMES

    def __post_init__(self):
        if self.detection_clones < 0 or self.audio_clones < 0:
            raise ParamsError("augment.detection_clones and augment.audio_clones must be >= 0")
        if not 0 <= self.strong_fraction <= 1:
            raise ParamsError(f"augment.strong_fraction must lie in [0, 1], got {self.strong_fraction}")
        if self.preview < 1:
            raise ParamsError(f"augment.preview must be >= 1 (the grids are declared plots), got {self.preview}")


@dataclass(frozen=True)
class OnlineOp:
    p: float  # probability per training sample
    strength: float  # in [0, 1], as in podium.augment.policy


@dataclass(frozen=True)
class AudioFeatureConfig:
    kind: Literal["logmel", "mfcc", "trimel"]
    n_fft: int  # samples
    hop: int  # samples between frames
    n_mels: int
    fmin: float  # Hz
    fmax: float  # Hz
    n_mfcc: int  # used by kind: mfcc
    trimel: list[list[int]]  # three [n_fft, hop] pairs, used by kind: trimel

    def __post_init__(self):
        _bounds(
            self,
            n_fft=(16, _ANY),
            hop=(1, _ANY),
            n_mels=(1, _ANY),
            fmin=(0, _ANY),
            fmax=(self.fmin, _ANY),
            n_mfcc=(1, self.n_mels),
        )


@dataclass(frozen=True)
class AudioTrainConfig:
    epochs: int
    batch_size: int
    optimizer: Literal["adamw", "sgd"]
    lr: float  # peak learning rate
    weight_decay: float
    schedule: Literal["onecycle", "cosine", "plateau"]
    patience: int  # epochs without a better validation accuracy before stopping
    label_smoothing: float
    mixup_alpha: float  # 0 turns mixup off
    spec_time_masks: int
    spec_time_width: int  # frames
    spec_freq_masks: int
    spec_freq_width: int  # mel bins
    time_shift: float  # seconds, each way
    gain_db: float  # random gain in [-gain_db, +gain_db]
    pretrained: str  # timm weights: local path or URL; "" trains from scratch
    device: Literal["auto", "cpu", "cuda"]
    gpus: int  # processes (one per GPU; on CPU, gloo processes); >1 launches through torchrun
    num_workers: int  # DataLoader workers reading clips
    per_model: dict[str, dict[str, Any]]  # model -> its differences from the knobs above, e.g. {resnet18: {lr: 0.001}}

    def __post_init__(self):
        _bounds(
            self,
            epochs=(1, _ANY),
            batch_size=(1, _ANY),
            lr=(1e-12, _ANY),
            weight_decay=(0, _ANY),
            patience=(1, _ANY),
            label_smoothing=(0, 0.99),
            mixup_alpha=(0, _ANY),
            spec_time_masks=(0, _ANY),
            spec_time_width=(0, _ANY),
            spec_freq_masks=(0, _ANY),
            spec_freq_width=(0, _ANY),
            time_shift=(0, _ANY),
            gain_db=(0, _ANY),
            gpus=(1, _ANY),
            num_workers=(0, _ANY),
        )


@dataclass(frozen=True)
class AudioPredictConfig:
    tta_shifts: list[float]  # seconds; each clip is also scored shifted by these (0.0 = as is)
    tta_polarity: bool  # also score every view polarity-inverted
    batch_size: int
    device: Literal["auto", "cpu", "cuda"]

    def __post_init__(self):
        _not_empty(self, "tta_shifts")
        _bounds(self, batch_size=(1, _ANY))


@dataclass(frozen=True)
class DetectorTrainConfig:
    image_size: int  # px: images are resized (aspect kept) to fit this square
    backbone_depth: Literal[18, 34, 50, 101, 152]  # ResNet depth
    base_channels: int  # ResNet stem width (64 in the standard ResNet)
    neck_channels: int  # FPN width (256 standard); heads are resized to match
    frozen_stages: int  # ResNet stages frozen for the whole run (-1: none)
    freeze_backbone_epochs: int  # two-phase training: the whole backbone frozen for the first N epochs
    epochs: int  # 0 evaluates the untrained model (a baseline)
    batch_size: int  # per process
    optimizer: Literal["sgd", "adamw"]
    lr: float
    weight_decay: float
    schedule: Literal["step", "cosine", "onecycle"]
    warmup_iters: int  # linear warm-up iterations (step and cosine)
    amp: bool  # mixed precision (CUDA only; ignored on CPU)
    ema: bool  # exponential moving average of the weights, validated and saved instead of the raw ones
    grad_clip: float  # max gradient norm; 0 = off
    patience: int  # epochs without a better validation mAP before stopping
    proposals: int  # RPN proposals per image kept for the RoI heads (two-stage models)
    roi_samples: int  # RoIs sampled per image for each R-CNN stage's loss (mmdet's default: 512)
    score_thr: float  # predictions above this score are kept (validation, OOF, test)
    max_per_img: int  # predictions kept per image
    load_from: str  # checkpoint path or URL (e.g. COCO-pretrained); "" trains from scratch; loaded weights-only
    load_from_full_pickle: bool  # RISK: true unpickles a local load_from file in full, running any code it holds
    device: Literal["auto", "cpu", "cuda"]
    gpus: int  # processes (one per GPU; on CPU, gloo processes); >1 runs under torchrun
    num_workers: int  # DataLoader workers
    online_augment: dict[str, OnlineOp]  # mmdet train pipeline (albumentations via Albu), in this order
    online_min_visibility: float  # online ops drop a box keeping less of its area in the image; clip the rest
    per_model: dict[str, dict[str, Any]]  # model -> its differences from the knobs above

    def __post_init__(self):
        _bounds(
            self,
            image_size=(32, _ANY),
            base_channels=(1, _ANY),
            neck_channels=(1, _ANY),
            frozen_stages=(-1, 4),
            freeze_backbone_epochs=(0, _ANY),
            epochs=(0, _ANY),
            batch_size=(1, _ANY),
            lr=(1e-12, _ANY),
            weight_decay=(0, _ANY),
            warmup_iters=(0, _ANY),
            grad_clip=(0, _ANY),
            patience=(1, _ANY),
            proposals=(1, _ANY),
            roi_samples=(1, _ANY),
            score_thr=(0, 1),
            max_per_img=(1, _ANY),
            gpus=(1, _ANY),
            num_workers=(0, _ANY),
            online_min_visibility=(0, 1),
        )


@dataclass(frozen=True)
class DetectorPredictConfig:
    tta_views: list[Literal["original", "hflip", "vflip"]]  # keys of podium.detection.inference.VIEWS
    tta_scales: list[float]  # multipliers of train_detector.image_size
    tta_merge: Literal["wbf", "nms"]  # how views are fused (mmdet's own TTA can only do NMS)
    tta_iou_thr: float
    batch_size: int
    device: Literal["auto", "cpu", "cuda"]
    per_model: dict[str, dict[str, Any]]  # model -> its differences from the knobs above

    def __post_init__(self):
        _not_empty(self, "tta_views", "tta_scales")
        _bounds(self, tta_scales=(0.1, 10), tta_iou_thr=(0.01, 1), batch_size=(1, _ANY))


@dataclass(frozen=True)
class EnsembleConfig:
    box_method: Literal["wbf", "nms", "soft_nms", "nmw"]
    box_iou_thr: float
    box_skip_thr: float  # boxes below this score are ignored by the fusion
    box_conf_type: Literal["avg", "max", "box_and_model_avg", "absent_model_aware_avg"]  # WBF only
    box_score_thr: float  # fused boxes below this are dropped
    box_calibration: Literal["none", "rank"]  # per prediction set, before fusion
    box_weights: dict[str, float]  # model -> weight (missing: 1)
    vote_method: Literal["soft", "geometric", "hard"]
    vote_weights: dict[str, float]
    tune_trials: int  # Optuna trials on OOF; 0 uses the settings above as they are
    workers: int  # processes fusing boxes

    def __post_init__(self):
        _bounds(
            self,
            box_iou_thr=(0.01, 1),
            box_skip_thr=(0, 1),
            box_score_thr=(0, 1),
            tune_trials=(0, _ANY),
            workers=(1, _ANY),
        )
        for name in ("box_weights", "vote_weights"):
            if any(w < 0 for w in getattr(self, name).values()):
                raise ParamsError(f"{name} must be >= 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class SubmitConfig:
    max_boxes: int  # per image, highest scores first

    def __post_init__(self):
        _bounds(self, max_boxes=(1, _ANY))


_ROUND_NAME = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Round:
    """One pseudo-labelling round: `name` names its folders (rounds/<name>/...); `source` is the path prefix of
    the round whose test predictions it labels with: "" for the base pipeline, "rounds/<earlier name>/"."""

    name: str
    source: str


@dataclass(frozen=True)
class PseudoLabelConfig:
    """Pseudo-labelling: each round trains every model again, in every fold, on the training data plus the test
    samples its source round's tuned ensemble is confident about (train-only, fold -1: never validated)."""

    rounds: list[Round]  # [] = off
    box_thr: float  # detection: fused test boxes at or above this score become pseudo boxes
    box_high: float  # an image is kept when more than box_min_fraction of its pseudo boxes score above this
    box_min_fraction: float
    box_repeats: int  # each kept image enters the training set this many times
    clip_thr: float  # audio: a clip is kept when its ensemble probability of the top label exceeds this
    clip_max_per_class: int  # the most confident clips kept per label (0 = no cap)
    clip_repeats: int
    preview: int  # samples drawn in each preview (reports/rounds/<name>/pseudo/previews/*.png)

    def __post_init__(self):
        _bounds(
            self,
            box_thr=(0, 1),
            box_high=(0, 1),
            box_min_fraction=(0, 1),
            box_repeats=(1, _ANY),
            clip_thr=(0, 1),
            clip_max_per_class=(0, _ANY),
            clip_repeats=(1, _ANY),
            preview=(0, _ANY),
        )
        earlier: list[str] = []
        for r in self.rounds:
            if not _ROUND_NAME.fullmatch(r.name) or r.name in earlier:
                raise ParamsError(f"rounds: {r.name!r} must be a new name of letters, digits, _ or -")
            allowed = [""] + [f"rounds/{e}/" for e in earlier]
            if r.source not in allowed:
                raise ParamsError(
                    f'rounds: {r.name}\'s source {r.source!r} must be one of {allowed} ("" = the base pipeline, '
                    "rounds/<name>/ = an earlier round)"
                )
            earlier.append(r.name)


@dataclass(frozen=True)
class LrFindConfig:
    """LR range test (lr_find/dvc.yaml, run on demand): `steps` training steps on fold `fold`'s training data
    with the model's own optimizer and data pipeline while the LR rises exponentially from start_lr to end_lr."""

    fold: int
    steps: int
    start_lr: float
    end_lr: float
    smoothing: float  # exponential moving average of the loss, bias-corrected (fastai's beta)
    diverge: float  # stop when the smoothed loss exceeds this multiple of its best

    def __post_init__(self):
        _bounds(self, fold=(0, _ANY), steps=(5, _ANY), start_lr=(0, _ANY), smoothing=(0, 0.999), diverge=(1.1, _ANY))
        if not 0 < self.start_lr < self.end_lr:
            raise ParamsError(
                f"start_lr and end_lr must satisfy 0 < start_lr < end_lr, got {self.start_lr}, {self.end_lr}"
            )
