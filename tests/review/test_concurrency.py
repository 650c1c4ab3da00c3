"""20 reviewers pulling and submitting at once on 2,000 tasks with overlap 2."""

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from maskgate.review.accounts import add_user
from maskgate.review.importer import bulk_add
from maskgate.review.queue import AnswerIn, next_task, submit
from maskgate.review.schema import Answer, Assignment, Slot

N_ITEMS, OVERLAP, N_REVIEWERS = 2000, 2, 20


@pytest.mark.slow
def test_twenty_reviewers_two_thousand_tasks(engine, tmp_path):
    bulk_add(
        engine,
        tmp_path,
        [{"ext_id": f"i{i}", "original": "o.png", "edited": "e.png"} for i in range(N_ITEMS)],
        overlap=OVERLAP,
    )
    reviewers = [add_user(engine, f"rev{i}", "password-123").id for i in range(N_REVIEWERS)]
    served: dict[int, list[int]] = {r: [] for r in reviewers}
    errors: list[BaseException] = []
    start = threading.Barrier(N_REVIEWERS)

    def work(r: int) -> None:
        try:
            start.wait()
            while (t := next_task(engine, r, gold_every=0)) is not None:
                served[r].append(t.item_id)
                submit(
                    engine,
                    r,
                    t.assignment_id,
                    AnswerIn(q1=False, q2=False, labels={"residue": True}, acceptable=True),
                )
        except BaseException as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(r,)) for r in reviewers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]

    for r, items in served.items():
        assert len(items) == len(set(items)), f"reviewer {r} was given an item twice"
    per_item = Counter(i for items in served.values() for i in items)
    assert len(per_item) == N_ITEMS, "a task was lost"
    assert set(per_item.values()) == {OVERLAP}
    with engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(Answer)) == N_ITEMS * OVERLAP
        pairs = c.execute(select(Answer.item_id, Answer.reviewer_id)).all()
        assert len(set(pairs)) == len(pairs), "an answer was stored twice"
        assert c.scalar(select(func.count()).select_from(Slot).where(Slot.state != "done")) == 0
        assert (
            c.scalar(select(func.count()).select_from(Assignment).where(Assignment.status != "submitted"))
            == 0
        )
