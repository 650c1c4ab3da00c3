"""ORM tables of the review app.

Times are stored as float epoch seconds: comparable and indexable the same way on SQLite and
PostgreSQL, and cheap to compute in the queue's hot path.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Setting(Base):
    """Key/value settings that must survive restarts (e.g. the session-signing secret)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # admin | reviewer
    created_at: Mapped[float] = mapped_column(Float)
    # Tasks handed to this user so far; drives the deterministic gold mix-in without a COUNT(*).
    served: Mapped[int] = mapped_column(Integer, default=0)


class Root(Base):
    """A folder the app knows. Items name their files relative to one (``Item.root_id``); images
    are served only from inside a root that is ``allowed`` (an admin's ``review roots add``, or
    the folders an import's files are in). An item's base folder may be wider than any allowed
    root (the common parent of its files), and then it is stored with ``allowed`` false: a base
    joins paths, it grants nothing."""

    __tablename__ = "roots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(String(1024), unique=True)
    allowed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    added_by: Mapped[str] = mapped_column(String(16), default="import", server_default="import")
    created_at: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")


class AuthSession(Base):
    """A login. The cookie carries only the signed random id; the row holds everything else, so
    logout, a password change or an admin can end a session before it expires. The id is stored
    as its SHA-256, so a copy of the database does not hand out live sessions."""

    __tablename__ = "auth_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    revoked_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    client: Mapped[str | None] = mapped_column(String(64), nullable=True)  # address at login

    __table_args__ = (Index("ix_auth_sessions_user", "user_id"),)


class LoginThrottle(Base):
    """Recent failed logins per key (``user:NAME`` or ``addr:IP``), in the database so every worker
    process sees the same count."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure: Mapped[float] = mapped_column(Float, default=0.0)
    locked_until: Mapped[float] = mapped_column(Float, default=0.0)


class Item(Base):
    """One (original, edit) pair from ``maskgate check``, with the model's pre-label mask."""

    __tablename__ = "items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ext_id: Mapped[str] = mapped_column(String(255), unique=True)
    root_id: Mapped[int] = mapped_column(ForeignKey("roots.id"))
    original: Mapped[str] = mapped_column(String(1024))  # relative to the root
    edited: Mapped[str] = mapped_column(String(1024))
    kind: Mapped[str | None] = mapped_column(String(32), nullable=True)
    verdict: Mapped[str | None] = mapped_column(String(16), nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    has_background: Mapped[bool] = mapped_column(Boolean, default=False)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)  # name -> path relative to the root
    check_record: Mapped[dict] = mapped_column(JSON, default=dict)  # the results.jsonl line
    premask: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # COCO RLE {"size", "counts"}
    error: Mapped[str | None] = mapped_column(Text, nullable=True)  # import problem shown to people
    overlap: Mapped[int] = mapped_column(Integer, default=1)
    is_gold: Mapped[bool] = mapped_column(Boolean, default=False)
    gold_labels: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    gold_acceptable: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # Uncertainty-sampling priority from the check scores (maskgate.learn.active); higher first.
    priority: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    created_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_items_gold", "is_gold", "id"),)


class Slot(Base):
    """One of the K reviews an item needs. ``due`` is when the slot may be handed out: 0 while
    open, the lease expiry while leased, NULL once done; so "next task" is one range scan on
    ``(due, priority DESC, id)`` that also picks up expired leases, with no OR and no separate
    sweeper. ``priority`` is the item's, copied here so that scan needs no join: among open
    slots the most informative item comes first, then import order."""

    __tablename__ = "slots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    due: Mapped[float | None] = mapped_column(Float, nullable=True)
    state: Mapped[str] = mapped_column(String(8), default="open")  # open | leased | done
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    assignment_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    priority: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")

    __table_args__ = (
        Index("ix_slots_queue", "due", text("priority DESC"), "id"),
        Index("ix_slots_item", "item_id"),
    )


class Assignment(Base):
    """An item handed to a reviewer. Unique per (reviewer, item): the database itself guarantees
    nobody is ever served the same item twice, whatever the interleaving."""

    __tablename__ = "assignments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("slots.id"), nullable=True)  # NULL: gold
    status: Mapped[str] = mapped_column(String(10), default="leased")  # leased|submitted|skipped|expired
    leased_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)

    __table_args__ = (
        UniqueConstraint("reviewer_id", "item_id", name="uq_assignment_reviewer_item"),
        Index("ix_assignments_reviewer_status", "reviewer_id", "status"),
        Index("ix_assignments_item", "item_id"),
    )


class Answer(Base):
    """A submitted questionnaire (+ corrected mask). One per assignment, enforced by the DB."""

    __tablename__ = "answers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    q1: Mapped[bool | None] = mapped_column(Boolean, nullable=True)  # original has overlay outside product
    q2: Mapped[bool | None] = mapped_column(Boolean, nullable=True)  # something still visible in the edit
    labels: Mapped[dict] = mapped_column(JSON)  # criterion -> true|false|null, same names as check
    acceptable: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text, default="")
    mask: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # COCO RLE
    is_gold: Mapped[bool] = mapped_column(Boolean, default=False)
    seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_answers_item", "item_id"), Index("ix_answers_reviewer", "reviewer_id"))


class Adjudication(Base):
    """An admin's final answer for an item (typically one the reviewers disagreed on). One per
    item; recording again replaces it. Exported as the item's ``final`` labels."""

    __tablename__ = "adjudications"
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    admin_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    q1: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    q2: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    labels: Mapped[dict] = mapped_column(JSON)  # criterion -> true|false|null, same names as check
    acceptable: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[float] = mapped_column(Float)
