"""The system layer: what windows onto a deployment read (system functions, metrics,
history, function logs). It may import functions, scheduler and auth, never server or cli."""
