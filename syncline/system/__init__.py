"""The system layer: what every window onto a deployment looks through (history, ...)."""
