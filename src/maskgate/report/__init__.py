"""Report: metrics and the HTML report of a check run."""
