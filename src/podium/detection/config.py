"""MMDetection configs for podium: mmdet 3.3's own model configs, resized and turned runnable from params.

Boxes in mmdet are `x1, y1, x2, y2` pixels of the resized input; mmdet maps predictions back to the original
image itself (`scale_factor`), so everything podium reads from a model is in original-image pixels.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import Any

from mmengine.config import Config, ConfigDict

# podium's model name -> mmdet 3.3 config, relative to mmdet's packaged configs (mmdet/.mim/configs).
BASE_CONFIGS: dict[str, str] = {
    "vfnet": "vfnet/vfnet_r50_fpn_1x_coco.py",
    "cascade_rcnn": "cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py",
    "faster_rcnn": "faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py",
}
STANDARD_NECK = 256  # FPN width in mmdet's configs
STANDARD_FC = 1024  # two-stage heads' fully connected width


def mmdet_config_root() -> str:
    import mmdet

    return os.path.join(os.path.dirname(mmdet.__file__), ".mim", "configs")


def load_base_config(model: str) -> Config:
    """mmdet's own config for one of podium's model names."""
    if model not in BASE_CONFIGS:
        raise ValueError(f"unknown detector {model!r}; valid names are {sorted(BASE_CONFIGS)}")
    return Config.fromfile(os.path.join(mmdet_config_root(), BASE_CONFIGS[model]))


def _walk(node: Any, fn) -> None:
    if isinstance(node, dict):
        fn(node)
        for value in node.values():
            _walk(value, fn)
    elif isinstance(node, list | tuple):
        for value in node:
            _walk(value, fn)


def resize_model(
    model: ConfigDict, *, num_classes: int, depth: int, base_channels: int, neck_channels: int, frozen_stages: int
) -> ConfigDict:
    """mmdet's model config with a ResNet-`depth` backbone of `base_channels` stem width, an FPN of
    `neck_channels`, every head resized to match, `num_classes` classes, and no pretrained-weight download
    (`init_cfg` cleared: podium loads weights through `load_from`)."""
    model = copy.deepcopy(model)
    if depth not in (18, 34, 50, 101, 152):
        raise ValueError(f"backbone depth {depth} is not a ResNet depth (18, 34, 50, 101, 152)")
    model.backbone.update(depth=depth, base_channels=base_channels, frozen_stages=frozen_stages, init_cfg=None)
    expansion = 1 if depth in (18, 34) else 4  # BasicBlock vs Bottleneck output width
    model.neck.in_channels = [base_channels * expansion * 2**i for i in range(4)]
    model.neck.out_channels = neck_channels
    fc_channels = STANDARD_FC * neck_channels // STANDARD_NECK

    def fix(node: dict) -> None:
        if node.get("type") in ("ResNet", "FPN"):
            return
        for key in ("in_channels", "feat_channels", "out_channels", "conv_out_channels"):
            if node.get(key) == STANDARD_NECK:
                node[key] = neck_channels
        if node.get("fc_out_channels") == STANDARD_FC:
            node["fc_out_channels"] = fc_channels
        if "num_classes" in node:
            node["num_classes"] = num_classes

    _walk(model, fix)
    return model


def _set_model_speed_knobs(
    model: ConfigDict, proposals: int, roi_samples: int, score_thr: float, max_per_img: int
) -> None:
    """RPN proposals kept for the RoI heads, RoIs sampled per image for each R-CNN stage's loss, and the
    final score threshold / detections per image."""
    train_cfg, test_cfg = model.get("train_cfg") or {}, model.get("test_cfg") or {}
    if "rpn_proposal" in train_cfg:
        train_cfg.rpn_proposal.update(nms_pre=proposals * 2, max_per_img=proposals)
    rcnn = train_cfg.get("rcnn")
    for stage in rcnn if isinstance(rcnn, list) else [rcnn] if rcnn else []:
        stage.sampler.num = roi_samples
    if "rpn" in test_cfg:
        test_cfg.rpn.update(nms_pre=proposals, max_per_img=proposals)
    final = test_cfg.get("rcnn", test_cfg)
    final.update(score_thr=score_thr, max_per_img=max_per_img)


def train_pipeline(image_size: int, online: list[dict]) -> list[dict]:
    return [
        dict(type="LoadImageFromFile"),
        dict(type="LoadAnnotations", with_bbox=True),
        dict(type="Resize", scale=(image_size, image_size), keep_ratio=True),
        *online,
        dict(type="PackDetInputs"),
    ]


def test_pipeline(image_size: int, from_array: bool = False) -> list[dict]:
    """Resize to fit a `image_size` square (aspect kept), then pad to that square: every input of a batch has
    the same shape, so a prediction does not depend on its batch. `from_array`: images come as arrays (podium's
    inference) rather than files with annotations (mmengine's validation loop)."""
    load = [dict(type="mmdet.LoadImageFromNDArray")] if from_array else [dict(type="LoadImageFromFile")]
    annotations = [] if from_array else [dict(type="LoadAnnotations", with_bbox=True)]
    return [
        *load,
        dict(type="Resize", scale=(image_size, image_size), keep_ratio=True),
        dict(type="Pad", size=(image_size, image_size), pad_val=dict(img=0)),
        *annotations,
        dict(type="PackDetInputs", meta_keys=("img_id", "img_path", "ori_shape", "img_shape", "scale_factor")),
    ]


def build_model(model_name: str, cfg, classes: list[str]) -> ConfigDict:
    """mmdet's `model_name` model config resized from `cfg` (a DetectorTrainConfig) for `classes`."""
    model = resize_model(
        load_base_config(model_name).model,
        num_classes=len(classes),
        depth=cfg.backbone_depth,
        base_channels=cfg.base_channels,
        neck_channels=cfg.neck_channels,
        frozen_stages=cfg.frozen_stages,
    )
    _set_model_speed_knobs(model, cfg.proposals, cfg.roi_samples, cfg.score_thr, cfg.max_per_img)
    return model


# params' train_detector.optimizer -> mmengine optimizer config
OPTIMIZERS: dict[str, Callable[[Any], dict]] = {
    "sgd": lambda cfg: dict(type="SGD", lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay),
    "adamw": lambda cfg: dict(type="AdamW", lr=cfg.lr, weight_decay=cfg.weight_decay),
}


def _optim_wrapper(cfg, use_amp: bool) -> dict:
    wrapper = dict(type="AmpOptimWrapper" if use_amp else "OptimWrapper", optimizer=OPTIMIZERS[cfg.optimizer](cfg))
    if cfg.grad_clip > 0:
        wrapper["clip_grad"] = dict(max_norm=cfg.grad_clip, norm_type=2)
    return wrapper


def _warmup(cfg) -> dict:
    return dict(type="LinearLR", start_factor=0.001, by_epoch=False, begin=0, end=cfg.warmup_iters)


def _step(cfg) -> list[dict]:
    """mmdet's 1x schedule, scaled: x0.1 at 2/3 and 11/12 of training, after the warm-up."""
    epochs = max(cfg.epochs, 1)
    return [
        _warmup(cfg),
        dict(
            type="MultiStepLR",
            by_epoch=True,
            begin=0,
            end=epochs,
            gamma=0.1,
            milestones=[max(1, round(epochs * 2 / 3)), max(1, round(epochs * 11 / 12))],
        ),
    ]


def _cosine(cfg) -> list[dict]:
    """Warm-up, then cosine to lr/1000 per iteration."""
    epochs = max(cfg.epochs, 1)
    return [
        _warmup(cfg),
        dict(
            type="CosineAnnealingLR",
            by_epoch=True,
            begin=0,
            end=epochs,
            T_max=epochs,
            eta_min=cfg.lr * 1e-3,
            convert_to_iter_based=True,
        ),
    ]


def _onecycle(cfg) -> list[dict]:
    """One cycle per iteration: 25% rising to lr, then down to lr/1000/25 (no separate warm-up)."""
    return [
        dict(
            type="OneCycleLR",
            eta_max=cfg.lr,
            total_steps=None,
            by_epoch=False,
            pct_start=0.25,
            final_div_factor=1e3,
            convert_to_iter_based=True,
        )
    ]


# params' train_detector.schedule -> mmengine param_scheduler list. The audio schedules of the same names
# differ (podium.audio.train.SCHEDULES: no warm-up, onecycle rises over 20%); the README says how.
SCHEDULES: dict[str, Callable[[Any], list[dict]]] = {"step": _step, "cosine": _cosine, "onecycle": _onecycle}


def build_train_config(
    model_name: str,
    cfg,
    *,
    classes: list[str],
    online: list[dict],
    train_ann: str,
    val_ann: str,
    work_dir: str,
    reports_dir: str,
    seed: int,
    use_cuda: bool,
    distributed: bool,
    metric: dict | None,
    label: str,
) -> Config:
    """A runnable mmengine config: mmdet's `model_name` config resized from `cfg` (a DetectorTrainConfig),
    trained on COCO file `train_ann` (with the online augmentation steps `online`, see
    podium.detection.hooks.online_augment) and validated on `val_ann` (image paths in `file_name`) by the
    competition's metric `metric` ({metric, iou_thr, empty_images}: podium.metrics.competition.box_metric),
    COCO's beside it.

    Checkpoints: the best epoch by the competition's metric is kept, plus the last one (for `resume`); early
    stopping after `cfg.patience` epochs without improvement; EMA and two-phase training through hooks; losses
    and metrics are logged by DVCLive into `reports_dir`; podium's progress lines name the run `label`.
    `metric` None: no validation at all (the LR range test)."""
    model = build_model(model_name, cfg, classes)
    train = train_pipeline(cfg.image_size, online)
    test = test_pipeline(cfg.image_size)
    metainfo = dict(classes=tuple(classes))

    def loader(ann: str, pipeline: list, shuffle: bool, batch_size: int, test_mode: bool) -> dict:
        return dict(
            batch_size=batch_size,
            num_workers=cfg.num_workers,
            persistent_workers=False,  # workers restart each epoch and see its number (SeededAlbu)
            sampler=dict(type="DefaultSampler", shuffle=shuffle),
            dataset=dict(
                type="CocoDataset",
                data_root="",
                ann_file=ann,
                data_prefix=dict(img=""),
                metainfo=metainfo,
                pipeline=pipeline,
                test_mode=test_mode,
                filter_cfg=dict(filter_empty_gt=False, min_size=0),
            ),
        )

    evaluator = [dict(type="QuietCocoMetric", ann_file=val_ann, metric="bbox", classwise=True, format_only=False)]
    monitor = None
    hooks = []
    if metric is not None:
        monitor = f"competition/{metric['metric']}"  # podium.detection.hooks.CompetitionBoxMetric's key
        evaluator.append(dict(type="CompetitionBoxMetric", ann_file=val_ann, **metric))
        hooks += [
            dict(type="EarlyStoppingHook", monitor=monitor, rule="greater", patience=cfg.patience, min_delta=0.0),
            dict(type="ProgressHook", label=label, monitor=monitor),
        ]
    if cfg.freeze_backbone_epochs > 0:
        hooks.append(dict(type="FreezeBackboneHook", epochs=cfg.freeze_backbone_epochs))
    if cfg.ema:
        hooks.append(dict(type="EMAHook", ema_type="ExpMomentumEMA", momentum=0.0002, update_buffers=True, priority=49))
    if any(step["type"] == "SeededAlbu" for step in online):
        hooks.append(dict(type="AugmentEpochHook"))
    config = dict(
        default_scope="mmdet",
        custom_imports=dict(imports=["podium.detection.hooks"], allow_failed_imports=False),  # for mmdet's tools
        model=model,
        work_dir=work_dir,
        train_dataloader=loader(train_ann, train, True, cfg.batch_size, False),
        val_dataloader=loader(val_ann, test, False, cfg.batch_size, True),
        test_dataloader=loader(val_ann, test, False, cfg.batch_size, True),
        val_evaluator=evaluator,
        test_evaluator=evaluator,
        train_cfg=dict(type="EpochBasedTrainLoop", max_epochs=max(cfg.epochs, 1), val_interval=1),
        val_cfg=dict(type="ValLoop"),
        test_cfg=dict(type="TestLoop"),
        optim_wrapper=_optim_wrapper(cfg, cfg.amp and use_cuda),
        param_scheduler=SCHEDULES[cfg.schedule](cfg),
        default_hooks=dict(
            timer=dict(type="IterTimerHook"),
            logger=dict(type="LoggerHook", interval=10),
            param_scheduler=dict(type="ParamSchedulerHook"),
            checkpoint=dict(
                type="CheckpointHook",
                interval=1,
                max_keep_ckpts=1,
                save_best=monitor,
                rule="greater",
                save_last=True,
            ),
            sampler_seed=dict(type="DistSamplerSeedHook"),
            visualization=dict(type="DetVisualizationHook", draw=False),
        ),
        custom_hooks=hooks,
        env_cfg=dict(
            cudnn_benchmark=False,
            mp_cfg=dict(mp_start_method="fork", opencv_num_threads=0),
            dist_cfg=dict(backend="nccl" if use_cuda else "gloo"),
        ),
        # DVCLive inside the stage's reports folder; artifact_suffix=() stops mmengine from `dvc add`-ing the
        # files it finds there on close (they are the stage's declared metrics and plots already).
        visualizer=dict(
            type="DetLocalVisualizer",
            name=f"visualizer {work_dir}",  # one per run: mmengine keeps instances by name, per process
            vis_backends=[
                dict(
                    type="TimelessDVCLiveVisBackend",  # podium.detection.hooks: no timings
                    save_dir=reports_dir,
                    artifact_suffix=(),
                    init_kwargs=dict(save_dvc_exp=False, dvcyaml=False, report=None, cache_images=False),
                )
            ],
        ),
        log_processor=dict(type="LogProcessor", window_size=10, by_epoch=True),
        log_level="INFO",
        load_from=cfg.load_from or None,
        load_from_full_pickle=cfg.load_from_full_pickle,  # read by podium.detection.train.run_training
        resume=False,
        randomness=dict(seed=seed, deterministic=False),
        launcher="pytorch" if distributed else "none",
    )
    if distributed:
        # mmengine pins DDP to cuda:LOCAL_RANK unless told otherwise: on CPU (gloo) there is no device id.
        config["model_wrapper_cfg"] = dict(
            type="MMDistributedDataParallel",
            broadcast_buffers=False,
            find_unused_parameters=cfg.freeze_backbone_epochs > 0,
        )
        if not use_cuda:
            config["model_wrapper_cfg"]["device_ids"] = None
    return Config(config)
