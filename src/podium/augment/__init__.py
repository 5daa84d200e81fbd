"""Augmentation: named image/audio ops with a strength knob (`policy`), offline clones (`clones`) and their
previews (`preview`). Import the submodules: `policy` is what mmdet's online pipeline shares."""
