"""A stateful model test: random insert/patch/replace/delete/get sequences, some
committed and some aborted, agree with a dict model — within the transaction
(read-your-own-writes) and after commit, and across a reopen."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from syncline.database import Database
from syncline.values import UNDEFINED, Int64

FIELDS = st.sampled_from(["a", "b", "c"])
VALUES = st.one_of(st.none(), st.booleans(), st.floats(allow_nan=False, width=64),
                   st.integers(-(2**63), 2**63 - 1).map(Int64), st.text(max_size=5),
                   st.binary(max_size=4), st.lists(st.integers(-5, 5).map(float), max_size=3))
BODIES = st.dictionaries(FIELDS, VALUES, max_size=3)
PATCHES = st.dictionaries(FIELDS, st.one_of(VALUES, st.just(UNDEFINED)), max_size=3)


def user_fields(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


class Writes(RuleBasedStateMachine):
    ids = Bundle("ids")

    @initialize()
    def open(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.dir = tempfile.mkdtemp(prefix="syncline-model-")
        self.path = os.path.join(self.dir, "db.sqlite3")
        self.db = Database(self.path, durability="normal")
        self.committed: dict[str, dict] = {}
        self.tx = self.db.begin()
        self.pending: dict[str, dict | None] = dict(self.committed)

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.db.close()
        self.loop.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @rule(target=ids, body=BODIES)
    def insert(self, body):
        doc_id = self.run(self._await(self.tx.insert("t", body)))
        self.pending[doc_id] = dict(body)
        return doc_id

    @staticmethod
    async def _await(op):
        return await op

    @rule(doc_id=ids, patch=PATCHES)
    def patch(self, doc_id, patch):
        if self.pending.get(doc_id) is None:
            return
        self.run(self._await(self.tx.patch(doc_id, patch)))
        merged = dict(self.pending[doc_id])
        for k, v in patch.items():
            if v is UNDEFINED:
                merged.pop(k, None)
            else:
                merged[k] = v
        self.pending[doc_id] = merged

    @rule(doc_id=ids, body=BODIES)
    def replace(self, doc_id, body):
        if self.pending.get(doc_id) is None:
            return
        self.run(self._await(self.tx.replace(doc_id, body)))
        self.pending[doc_id] = dict(body)

    @rule(doc_id=ids)
    def delete(self, doc_id):
        if self.pending.get(doc_id) is None:
            return
        self.run(self._await(self.tx.delete(doc_id)))
        self.pending[doc_id] = None

    @rule()
    def commit(self):
        self.run(self.tx.commit())
        self.committed = {k: v for k, v in self.pending.items() if v is not None}
        self.tx = self.db.begin()
        self.pending = dict(self.committed)

    @rule()
    def abort(self):
        self.tx.abort()
        self.tx = self.db.begin()
        self.pending = dict(self.committed)

    @rule()
    def reopen(self):
        self.tx.abort()
        self.db.close()
        self.db = Database(self.path, durability="normal")
        self.tx = self.db.begin()
        self.pending = dict(self.committed)

    @invariant()
    def transaction_sees_its_own_writes(self):
        if not hasattr(self, "tx"):
            return
        for doc_id, expected in self.pending.items():
            got = self.run(self.tx.get(doc_id))
            assert (None if got is None else user_fields(got)) == expected
        listed = self.run(self.tx.query("t").collect())
        assert {d["_id"]: user_fields(d) for d in listed} == {
            k: v for k, v in self.pending.items() if v is not None}

    @invariant()
    def committed_state_is_what_was_committed(self):
        if not hasattr(self, "db"):
            return
        listed = self.run(self.db.read(lambda tx: tx.query("t").collect()))
        assert {d["_id"]: user_fields(d) for d in listed} == self.committed


Writes.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)
TestWrites = Writes.TestCase
