"""Every `Literal[...]` of valid names in the params schema is exactly the set of keys of the factory dict it
selects from: a name params accepts always builds something, and every part a factory offers is reachable."""

import typing

import pytest

from podium import settings


def _names(section: type, field: str) -> set[str]:
    tp = typing.get_type_hints(section)[field]
    while typing.get_origin(tp) is list:
        (tp,) = typing.get_args(tp)
    assert typing.get_origin(tp) is typing.Literal, f"{section.__name__}.{field} is not a Literal"
    return set(typing.get_args(tp))


def _factories():
    from podium.audio.features import FEATURES
    from podium.audio.train import OPTIMIZERS as AUDIO_OPTIMIZERS
    from podium.audio.train import SCHEDULES as AUDIO_SCHEDULES
    from podium.data.external import DETECTION_READERS
    from podium.detection.config import BASE_CONFIGS
    from podium.detection.config import OPTIMIZERS as DETECTION_OPTIMIZERS
    from podium.detection.config import SCHEDULES as DETECTION_SCHEDULES
    from podium.detection.inference import VIEWS
    from podium.ensemble.boxes import CALIBRATIONS, CONF_TYPES, METHODS
    from podium.ensemble.voting import VOTERS

    return [
        (settings.Models, "detection", BASE_CONFIGS),
        (settings.AudioFeatureConfig, "kind", FEATURES),
        (settings.AudioTrainConfig, "optimizer", AUDIO_OPTIMIZERS),
        (settings.AudioTrainConfig, "schedule", AUDIO_SCHEDULES),
        (settings.DetectorTrainConfig, "optimizer", DETECTION_OPTIMIZERS),
        (settings.DetectorTrainConfig, "schedule", DETECTION_SCHEDULES),
        (settings.DetectorPredictConfig, "tta_views", VIEWS),
        (settings.DetectionSource, "format", DETECTION_READERS),
        (settings.EnsembleConfig, "box_method", METHODS),
        (settings.EnsembleConfig, "box_conf_type", CONF_TYPES),
        (settings.EnsembleConfig, "box_calibration", CALIBRATIONS),
        (settings.EnsembleConfig, "vote_method", VOTERS),
    ]


@pytest.mark.parametrize("index", range(12))
def test_literal_names_equal_the_factory_keys(index):
    section, field, factory = _factories()[index]
    assert _names(section, field) == set(factory), f"{section.__name__}.{field}"


def test_audio_baseline_names_are_the_baseline_factory_keys():
    from podium.audio.models import BASELINES

    assert set(settings.AUDIO_BASELINES) == set(BASELINES)


def test_tta_merges_are_fusion_methods():
    from podium.ensemble.boxes import METHODS

    assert _names(settings.DetectorPredictConfig, "tta_merge") <= set(METHODS)
