"""round_predict_audio: predict_audio on a pseudo-labelling round's folders (from dvc.yaml).

Runs stages/predict_audio.py as it is (what it reads and writes, which params), so a round and the base
pipeline can never train, predict or score differently.
"""

import runpy
from pathlib import Path

if __name__ == "__main__":
    runpy.run_path(str(Path(__file__).with_name("predict_audio.py")), run_name="__main__")
