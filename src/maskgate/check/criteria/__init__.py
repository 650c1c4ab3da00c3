"""One module per criterion; each exposes ``features(ctx)`` (measurements) and ``judge(ctx, rule)``."""
