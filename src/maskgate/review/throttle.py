"""Login throttling per account and per client address, kept in the database so that every worker
process counts the same failures.

The rule: an account may fail ``account_free`` times, an address ``address_free`` times (higher:
an office behind one NAT shares it); each failure beyond that locks the key for ``base_delay``
seconds, doubled per further failure, at most ``max_delay``. While a key is locked every attempt
on it is answered 429 with Retry-After and its password is not even checked, so the right password
does not get in either. Failures are forgotten ``forget_after`` seconds after the last one; a
successful login clears its account's count and takes its own attempt back off the address.

An attempt is counted *before* the password is checked (and given back on success), so a burst
of parallel guesses cannot all slip through while the first ones are still being verified.

Hand-written because no maintained library keeps such counters in the app's own database
(slowapi and the like count per process or need Redis).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from maskgate.review.db import is_sqlite, write_transaction
from maskgate.review.schema import LoginThrottle

T = LoginThrottle.__table__


@dataclass(frozen=True)
class ThrottlePolicy:
    account_free: int = 5
    address_free: int = 20
    base_delay: float = 1.0
    max_delay: float = 900.0
    forget_after: float = 900.0

    def delay(self, failures: int, free: int) -> float:
        over = failures - free
        return 0.0 if over < 0 else min(self.base_delay * 2.0**over, self.max_delay)


def keys(username: str, address: str | None) -> dict[str, str]:
    """The two counters one attempt touches; a username is cut to fit the key column (a longer
    one is not a valid account anyway)."""
    return {"account": "user:" + username[:100], "address": "addr:" + (address or "unknown")[:100]}


def begin_attempt(
    engine: Engine, username: str, address: str | None, policy: ThrottlePolicy, now: float | None = None
) -> float | None:
    """Seconds to wait when this attempt is refused, else None (and the attempt is counted)."""
    now = time.time() if now is None else now
    ks = keys(username, address)
    ins = sqlite_insert if is_sqlite(engine) else pg_insert
    with write_transaction(engine) as c:
        c.execute(
            ins(T)
            .values(
                [{"key": k, "failures": 0, "last_failure": 0.0, "locked_until": 0.0} for k in ks.values()]
            )
            .on_conflict_do_nothing(index_elements=["key"])
        )
        rows = {
            r.key: r
            for r in c.execute(select(T).where(T.c.key.in_(list(ks.values()))).with_for_update()).all()
        }
        wait = max(rows[k].locked_until for k in ks.values()) - now
        if wait > 0:
            return wait
        for kind, k in ks.items():
            free = policy.account_free if kind == "account" else policy.address_free
            r = rows[k]
            failures = (0 if now - r.last_failure > policy.forget_after else r.failures) + 1
            lock = policy.delay(failures, free)
            c.execute(
                update(T)
                .where(T.c.key == k)
                .values(failures=failures, last_failure=now, locked_until=now + lock if lock else 0.0)
            )
    return None


def succeeded(engine: Engine, username: str, address: str | None, policy: ThrottlePolicy) -> None:
    """The right password: forget the account's failures; the address keeps its failures but not
    this attempt, so a valid account of one's own cannot be used to reset an address's count."""
    ks, now = keys(username, address), time.time()
    with write_transaction(engine) as c:
        # Forgotten counters go here rather than on every attempt: a spray of made-up user names
        # leaves one row each, and a success is the rarer event.
        c.execute(delete(T).where(T.c.last_failure < now - policy.forget_after, T.c.locked_until < now))
        c.execute(update(T).where(T.c.key == ks["account"]).values(failures=0, locked_until=0.0))
        r = c.execute(select(T).where(T.c.key == ks["address"]).with_for_update()).first()
        if r is not None:
            failures = max(r.failures - 1, 0)
            values: dict = {"failures": failures}
            if policy.delay(failures, policy.address_free) == 0:
                values["locked_until"] = 0.0
            c.execute(update(T).where(T.c.key == ks["address"]).values(**values))
