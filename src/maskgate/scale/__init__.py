"""Where the work of a run executes: this machine's processes, or a Ray cluster's actors."""
