"""@record behaves as @dataclass(frozen=True, slots=True) does, method for method."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest

from webvoice.sip.util._record import record


@record
class Point:
    x: int
    y: int = 0
    label: str = field(default="", compare=False)
    secret: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class DataPoint:
    x: int
    y: int = 0
    label: str = field(default="", compare=False)
    secret: str = field(default="", repr=False)


@record
class Child(Point):
    z: int = 0


@record
class OwnRepr:
    value: str

    def __repr__(self) -> str:
        return "OwnRepr(<hidden>)"


def test_repr_is_the_dataclass_repr():
    assert repr(Point(1, 2, "a", "pw")) == repr(DataPoint(1, 2, "a", "pw")).replace("DataPoint", "Point")
    assert "pw" not in repr(Point(1, secret="pw"))
    assert repr(Child(1, 2, z=3)) == "Child(x=1, y=2, label='', z=3)"
    assert repr(OwnRepr("x")) == "OwnRepr(<hidden>)"


def test_equality_and_hash_follow_the_compared_fields():
    assert Point(1, 2, "a") == Point(1, 2, "b")  # label is compare=False
    assert Point(1, 2) != Point(1, 3)
    assert hash(Point(1, 2, "a")) == hash(Point(1, 2, "b"))
    assert {Point(1, 2): "v"}[Point(1, 2)] == "v"
    assert Point(1, 2) != Child(1, 2)  # another class is never equal, as with dataclasses
    assert Point(1, 2).__eq__((1, 2)) is NotImplemented
    nan = float("nan")  # fields compared as tuples are, identity first: as dataclasses do
    assert (Point(nan) == Point(nan)) is (DataPoint(nan) == DataPoint(nan)) is True


def test_frozen_slotted_and_usable_with_dataclasses_helpers():
    p = Point(1, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 5
    assert not hasattr(p, "__dict__")
    assert dataclasses.replace(p, y=7) == Point(1, 7)
    assert [f.name for f in dataclasses.fields(Child)] == ["x", "y", "label", "secret", "z"]
    assert dataclasses.is_dataclass(p)
