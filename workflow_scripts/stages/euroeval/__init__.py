"""EuroEval on base models and merged adapters, offline-capable (metrics/: the metric scripts it loads)."""
