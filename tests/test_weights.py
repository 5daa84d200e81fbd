"""Pretrained weights are data: a checkpoint whose pickle runs code is refused, locally and over HTTP, and
the weights a user names are the ones that load (never timm's hub)."""

import pytest
import torch

from podium.audio.models import create_network
from podium.weights import WeightsError, load_weights


def _malicious(tmp_path, malicious_checkpoint):
    marker = tmp_path / "pwned"
    return malicious_checkpoint(tmp_path / "evil.pth", marker), marker


def test_a_malicious_local_checkpoint_runs_nothing(tmp_path, malicious_checkpoint):
    path, marker = _malicious(tmp_path, malicious_checkpoint)
    with pytest.raises(WeightsError, match=r"evil.pth holds more than weights"):
        load_weights(str(path), "train_audio.pretrained")
    assert not marker.exists()


def test_a_malicious_checkpoint_from_a_url_runs_nothing(tmp_path, served, monkeypatch, malicious_checkpoint):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    _, marker = _malicious(tmp_path, malicious_checkpoint)
    with pytest.raises(WeightsError, match=r"evil.pth holds more than weights"):
        load_weights(f"{served}/evil.pth", "train_audio.pretrained")
    assert not marker.exists()


def test_plain_state_dicts_load_from_a_path_a_url_and_safetensors(tmp_path, served, monkeypatch):
    from safetensors.torch import save_file

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    weights = {"w": torch.arange(3.0)}
    torch.save({"state_dict": weights, "meta": {"epoch": 3, "classes": ("a", "b")}}, tmp_path / "ok.pth")
    save_file(weights, str(tmp_path / "ok.safetensors"))
    for source in (str(tmp_path / "ok.pth"), f"{served}/ok.pth", str(tmp_path / "ok.safetensors")):
        assert torch.equal(load_weights(source, "k")["w"], weights["w"])
    with pytest.raises(WeightsError, match=r"k: .*gone.pth: no such file"):
        load_weights(str(tmp_path / "gone.pth"), "k")


def test_the_timm_weights_the_user_names_are_the_ones_that_load(tmp_path):
    """resnet10t has a hub id: before, timm went to its hub (offline: a traceback) whatever URL was given."""
    source = create_network("resnet10t", num_classes=10, in_chans=1, pretrained="")
    torch.save(source.state_dict(), tmp_path / "mine.pth")
    loaded = create_network("resnet10t", num_classes=10, in_chans=1, pretrained=str(tmp_path / "mine.pth"))
    name = "layer1.0.conv1.weight"
    assert torch.equal(loaded.state_dict()[name], source.state_dict()[name])
