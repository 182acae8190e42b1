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


@record
class WithFactory:
    name: str
    items: tuple[int, ...] = field(default_factory=tuple)
    hidden: int = field(default=7, init=False)
    normalised: str = field(default="", init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "normalised", self.name.lower())


@dataclass(frozen=True, slots=True)
class DataWithFactory:
    name: str
    items: tuple[int, ...] = field(default_factory=tuple)
    hidden: int = field(default=7, init=False)
    normalised: str = field(default="", init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "normalised", self.name.lower())


def test_init_takes_what_the_dataclass_init_takes():
    a, d = WithFactory("Ann", (1,)), DataWithFactory("Ann", (1,))
    assert repr(a) == repr(d).replace("DataWithFactory", "WithFactory")
    assert WithFactory("x").items == () and WithFactory("x").hidden == 7
    assert WithFactory(name="B").normalised == "b"  # __post_init__ ran after the fields were set
    assert Child(1, z=3) == Child(1, 0, "", "", 3)
    with pytest.raises(TypeError):
        WithFactory()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        WithFactory("x", (), 8)  # type: ignore[call-arg]  # hidden is init=False
    with pytest.raises(dataclasses.FrozenInstanceError):
        del a.name


def test_copies_and_pickles_equal_and_stay_frozen():
    import copy
    import pickle

    for value in (Point(1, 2, "a", "s"), Child(1, z=2), WithFactory("Ann", (1, 2))):
        for twin in (copy.copy(value), copy.deepcopy(value), pickle.loads(pickle.dumps(value))):
            assert twin == value and repr(twin) == repr(value)
            with pytest.raises(dataclasses.FrozenInstanceError):
                twin.x = 9  # type: ignore[misc,attr-defined]


def test_nothing_is_compiled_until_a_record_is_first_built(monkeypatch):
    """The point of @record: defining a class runs no exec (the start-up cost
    in Pyodide); the first construction makes its __init__ once."""
    import builtins

    compiled: list[str] = []
    real_exec = builtins.exec

    def counting_exec(source, *args, **kwargs):
        compiled.append(source if isinstance(source, str) else "<code>")
        return real_exec(source, *args, **kwargs)

    monkeypatch.setattr(builtins, "exec", counting_exec)

    @record
    class Fresh:
        a: int
        b: str = "x"

    assert compiled == []
    assert Fresh(1) == Fresh(1, "x")
    assert len(compiled) == 1
    assert repr(Fresh(2, "y")).endswith("Fresh(a=2, b='y')") and len(compiled) == 1
