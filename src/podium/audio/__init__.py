"""Speech-command classification: mel features, timm and baseline networks, fold training and inference.
Clips are read by the neutral `podium.clips`, probability tables live in `podium.probabilities`."""
