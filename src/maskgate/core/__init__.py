"""The types every layer shares: text regions, decoded images, the results record and its vocabulary.

Nothing here imports the rest of maskgate, so any layer can depend on it (see docs/architecture.md).
"""
