"""Check: judge an (original, edited) pair on six criteria and give one verdict."""
