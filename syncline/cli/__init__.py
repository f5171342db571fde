"""The `syncline` command line: init, dev, serve, run."""
