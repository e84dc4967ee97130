"""Machine learning: RetNet, training, evaluation, baselines, weights (torch + scikit-learn; no Qt, no pyvista)."""
