"""Each model family's forward pass, and pretrained weights loaded from a local file."""

from pathlib import Path

import pytest
import timm
import torch

from podium.audio.features import create_features
from podium.audio.models import AudioClassifier, create_network

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["small_cnn", "cnn_gru", "cnn_lstm", "resnet18", "efficientnet_b0"])
@pytest.mark.parametrize("in_chans", [1, 3])
def test_forward_pass_gives_one_logit_per_class(name, in_chans):
    net = create_network(name, num_classes=10, in_chans=in_chans).eval()
    with torch.no_grad():
        out = net(torch.randn(2, in_chans, 64, 101))
    assert out.shape == (2, 10) and torch.isfinite(out).all()


def test_classifier_is_level_invariant():
    feats = create_features("logmel", sample_rate=16000, n_fft=512, hop=160, n_mels=32, fmin=20.0, fmax=4000.0)
    model = AudioClassifier(feats, create_network("small_cnn", 4, 1)).eval()
    wave = torch.randn(2, 16000) * 0.1
    with torch.no_grad():
        torch.testing.assert_close(model(wave), model(wave * 0.05), atol=2e-3, rtol=1e-3)


def test_pretrained_timm_weights_from_a_local_file(tmp_path):
    donor = timm.create_model("resnet18", num_classes=1000)
    torch.save(donor.state_dict(), tmp_path / "resnet18.pth")
    net = create_network("resnet18", num_classes=10, in_chans=1, pretrained=str(tmp_path / "resnet18.pth"))
    # timm sums the RGB filters of the first conv for a 1-channel input, and keeps the body's weights
    torch.testing.assert_close(net.conv1.weight, donor.conv1.weight.sum(dim=1, keepdim=True))
    torch.testing.assert_close(net.layer4[1].conv2.weight, donor.layer4[1].conv2.weight)
    assert net.fc.out_features == 10


def test_unknown_model_lists_the_baselines():
    with pytest.raises(ValueError, match="small_cnn"):
        create_network("no_such_net", 10, 1)


@pytest.mark.parametrize("steps", [1, 2, 5, 50])
def test_one_cycle_schedule_survives_short_runs(steps):
    import dataclasses

    from podium.audio.train import SCHEDULES
    from podium.params import load_params

    cfg = dataclasses.replace(load_params(ROOT / "params.yaml")["train_audio"], schedule="onecycle", epochs=1)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=cfg.lr)
    scheduler = SCHEDULES["onecycle"](optimizer, cfg, steps)  # 5 steps used to divide by zero inside torch
    lrs = []
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    assert all(0 < lr <= cfg.lr * 1.0001 for lr in lrs)
