"""Reading and writing images, manifests and results: the edges of the pipeline."""
