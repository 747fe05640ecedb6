"""The SQLAlchemy recipe of docs/items-users-actions.md, as written there: compiled always, and
run against SQLite and the local endpoint where SQLAlchemy is installed (the dev extra)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from personalize_tracker.testing import PersonalizeEventsMock

PAGE = Path(__file__).resolve().parents[1] / "docs" / "items-users-actions.md"
ITEMS = "arn:aws:personalize:us-east-1:123456789012:dataset/shop/ITEMS"


def recipe() -> str:
    """The first Python block of the page's SQLAlchemy section."""
    section = PAGE.read_text(encoding="utf-8").split("## SQLAlchemy", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_recipe_compiles() -> None:
    compile(recipe(), str(PAGE), "exec")


@pytest.fixture
def namespace(
    personalize_events: PersonalizeEventsMock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """The recipe run as a module, with a Product model on SQLite; its listeners removed
    afterwards (they are on the Session class, for every session of the process)."""
    pytest.importorskip("sqlalchemy")
    from sqlalchemy import Column, Numeric, String, event
    from sqlalchemy.orm import DeclarativeBase, Session

    class Base(DeclarativeBase):
        pass

    class Product(Base):  # columns without annotations: this module's are strings
        __tablename__ = "product"
        sku = Column(String(64), primary_key=True)
        price = Column(Numeric(9, 2), nullable=False)
        genres = Column(String, nullable=False)

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    scope: dict[str, Any] = {"Product": Product, "Base": Base, "__name__": "recipe"}
    exec(compile(recipe(), str(PAGE), "exec"), scope)
    try:
        yield scope
    finally:
        scope["tracker"].close(5)
        for name in ("after_commit", "after_rollback", "after_soft_rollback",
                     "after_transaction_create"):  # fmt: skip
            for listener in ("send", "forget", "mark"):
                if listener in scope and event.contains(Session, name, scope[listener]):
                    event.remove(Session, name, scope[listener])


def test_the_recipe_sends_what_is_committed(
    personalize_events: PersonalizeEventsMock, namespace: dict[str, Any]
) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    product, tracker = namespace["Product"], namespace["tracker"]
    engine = create_engine("sqlite://")
    namespace["Base"].metadata.create_all(engine)
    with Session(engine) as session:
        session.add(product(sku="p1", price=Decimal("9.50"), genres="Comedy,Drama"))
        session.commit()
        assert tracker.flush(5)
        session.add(product(sku="p2", price=Decimal("1"), genres="Horror"))
        session.flush()  # written, then rolled back: never sent
        session.rollback()
        session.get(product, "p1").price = Decimal("8")
        session.commit()
        assert tracker.flush(5)
    assert [(item.item_id, json.loads(item.properties or "")) for item in
            personalize_events.items] == [
        ("p1", {"price": 9.5, "genres": "Comedy|Drama"}),
        ("p1", {"price": 8.0, "genres": "Comedy|Drama"}),
    ]  # fmt: skip
    assert {item.dataset_arn for item in personalize_events.items} == {ITEMS}


def test_a_rolled_back_savepoint_forgets_only_what_it_wrote(
    personalize_events: PersonalizeEventsMock, namespace: dict[str, Any]
) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm import Session

    product, tracker = namespace["Product"], namespace["tracker"]
    engine = create_engine("sqlite://")
    namespace["Base"].metadata.create_all(engine)
    with Session(engine) as session:
        session.add(product(sku="p1", price=Decimal("9.50"), genres="Comedy"))
        session.flush()  # written in the transaction, before the savepoint
        savepoint = session.begin_nested()
        session.add(product(sku="p2", price=Decimal("1"), genres="Horror"))
        session.get(product, "p1").price = Decimal("5")
        session.flush()
        savepoint.rollback()  # p2 and p1's new price are gone; p1 as first written stays
        with pytest.raises(IntegrityError), session.begin_nested():  # a failed flush in it
            session.add(product(sku="p1", price=Decimal("7"), genres="Comedy"))
        with session.begin_nested():  # a savepoint released: what it wrote is kept
            session.add(product(sku="p3", price=Decimal("2"), genres="Drama"))
        session.commit()
        assert tracker.flush(5)
    assert sorted((item.item_id, json.loads(item.properties or "")["price"]) for item in
                  personalize_events.items) == [("p1", 9.5), ("p3", 2.0)]  # fmt: skip
