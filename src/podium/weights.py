"""Loading pretrained weights a user names (a local path or an HTTP(S) URL) as data, never as code.

A `.pth` is a pickle: loading it with full pickle runs whatever it holds. podium loads every file it did not
write itself with `weights_only=True` (tensors, numbers, strings, containers) or from safetensors, so a
checkpoint pasted from a forum cannot run anything. URLs are downloaded once into torch's hub cache
(`TORCH_HOME`), then loaded the same way.
"""

from __future__ import annotations

from pathlib import Path

from podium.errors import PodiumError


class WeightsError(PodiumError, ValueError):
    """Pretrained weights that cannot be loaded; the message names the params key and the fix."""


def load_weights(source: str, key: str) -> dict:
    """The state dict in `source` (path or URL; `.safetensors` or a torch file, a bare state dict or one under
    "state_dict"/"model"), loaded weights-only. `key` names the params entry in errors."""
    import pickle

    import torch

    try:
        if source.startswith(("http://", "https://")):
            loaded = torch.hub.load_state_dict_from_url(source, map_location="cpu", weights_only=True, progress=False)
        else:
            path = Path(source).expanduser()
            if not path.is_file():
                raise WeightsError(f"{key}: {source}: no such file; give a local path or an http(s) URL")
            if path.suffix == ".safetensors":
                from safetensors.torch import load_file

                loaded = load_file(str(path))
            else:
                loaded = torch.load(path, map_location="cpu", weights_only=True)
    except WeightsError:
        raise
    except pickle.UnpicklingError as e:
        raise WeightsError(
            f"{key}: {source} holds more than weights (a pickle that would run code to load: {str(e)[:200]}); "
            "podium loads weights only. Export a plain state dict (torch.save(model.state_dict(), path)) or "
            "a .safetensors file"
        ) from None
    except Exception as e:  # network errors, truncated files, not a torch file
        raise WeightsError(f"{key}: cannot load {source} ({type(e).__name__}: {e})") from None
    if isinstance(loaded, dict):
        for inner in ("state_dict", "model"):
            if isinstance(loaded.get(inner), dict):
                loaded = loaded[inner]
                break
    if not isinstance(loaded, dict) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise WeightsError(f"{key}: {source} is not a state dict (name -> tensor)")
    return loaded
