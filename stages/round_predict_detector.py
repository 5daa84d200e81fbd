"""round_predict_detector: predict_detector on a pseudo-labelling round's folders (from dvc.yaml).

Runs stages/predict_detector.py as it is (what it reads and writes, which params), so a round and the base
pipeline can never train, predict or score differently.
"""

import runpy
from pathlib import Path

if __name__ == "__main__":
    runpy.run_path(str(Path(__file__).with_name("predict_detector.py")), run_name="__main__")
