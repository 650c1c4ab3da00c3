"""Make: product masks, text/logo masks, cut-outs and background recovery."""
