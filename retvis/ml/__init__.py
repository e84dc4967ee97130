"""Machine learning: RetNet, datasets, training, baselines, metrics and model files (torch, scikit-learn; no Qt)."""
