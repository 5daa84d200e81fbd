import torch

from podium.audio import augment


def test_time_shift_moves_and_zero_fills():
    wave = torch.arange(1, 11, dtype=torch.float32)[None].repeat(50, 1)
    out = augment.time_shift(wave, 3, torch.Generator().manual_seed(0))
    for row in out:
        nz = row[row != 0]
        shift = int(row.nonzero()[0]) if row[0] == 0 else -int(10 - len(nz))
        assert len(nz) >= 7  # at most 3 samples lost
        assert torch.equal(
            nz,
            torch.arange(1, 11, dtype=torch.float32)[: len(nz)]
            if shift >= 0
            else torch.arange(11 - len(nz), 11, dtype=torch.float32),
        )


def test_spec_augment_masks_whole_bands():
    spec = torch.ones(8, 1, 20, 30)
    out = augment.spec_augment(spec, 1, 5, 1, 4, torch.Generator().manual_seed(1))
    for sample in out[:, 0]:
        zero_cols = (sample == 0).all(dim=0).sum().item()
        zero_rows = (sample == 0).all(dim=1).sum().item()
        assert zero_cols <= 5 and zero_rows <= 4
        assert ((sample == 0).sum() == zero_cols * 20 + zero_rows * 30 - zero_cols * zero_rows).item()


def test_mixup_is_a_convex_combination():
    wave = torch.randn(6, 100)
    mixed, partner, lam = augment.mixup(wave, 0.4, torch.Generator().manual_seed(0))
    assert 0 <= lam <= 1
    torch.testing.assert_close(mixed, lam * wave + (1 - lam) * wave[partner])
    same, index, one = augment.mixup(wave, 0.0, torch.Generator())
    assert one == 1.0 and torch.equal(same, wave)
