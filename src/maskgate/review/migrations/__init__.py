"""Alembic migrations of the review database (run by ``maskgate.review.db.migrate``)."""
