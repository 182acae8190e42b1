"""webvoice.sip.util._deadlines.earliest: the next deadline of a part made of parts."""

from __future__ import annotations

import pytest

from webvoice.sip.util._deadlines import earliest


@pytest.mark.parametrize(("times", "expected"), [
    ((), None),
    ((None, None), None),
    ((3.0,), 3.0),
    ((None, 2.5, 1.5, None), 1.5),
    ((0.0, None, 4.0), 0.0),  # zero is a deadline, not "none"
    ((7.0, 7.0), 7.0),
])
def test_earliest_is_the_smallest_deadline_that_is_set(times, expected):
    assert earliest(*times) == expected
