"""syncline: the reactive backend for Python."""
