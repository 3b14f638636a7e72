"""Running work off the GUI thread: task runners, the training run, "only the newest result counts", throttling."""
