"""Learn: fit criterion scorers and verdict thresholds from human labels."""
