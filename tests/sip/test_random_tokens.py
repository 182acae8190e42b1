"""The UA's random tokens (Call-IDs, the Contact's user and host): their form and their spread.

``random_token`` draws one number and writes it in base 36 (one read of the
OS's entropy per token instead of one per character); these check that the
tokens are still what they were: the right length, the alphabet only, every
character equally likely, no two alike, and reproducible from a seeded
``random.Random`` (the tests' UAs use one).
"""

from __future__ import annotations

import random
import string
from collections import Counter

import pytest

from webvoice.sip.ua._config import random_token

ALPHABET = set(string.ascii_lowercase + string.digits)


@pytest.mark.parametrize("length", [1, 8, 12, 22, 40])
def test_a_token_has_its_length_and_the_alphabet_only(length):
    rng = random.SystemRandom()
    for _ in range(200):
        token = random_token(rng, length)
        assert len(token) == length and set(token) <= ALPHABET, token


def test_every_character_is_equally_likely_in_every_position():
    rng = random.Random(20261201)
    tokens = [random_token(rng, 22) for _ in range(7200)]
    for position in (0, 10, 21):  # the lowest digit, a middle one, the highest
        counts = Counter(t[position] for t in tokens)
        assert set(counts) == ALPHABET, position
        # 200 expected each; a chi-square test with 35 degrees of freedom
        # (p = 0.001 is about 66.6): a biased digit (say the highest one,
        # drawn below a bound not a power of 36) fails it.
        chi2 = sum((c - 200) ** 2 / 200 for c in counts.values())
        assert chi2 < 66.6, (position, chi2, counts.most_common(3))


def test_tokens_differ_and_a_seeded_source_repeats_them():
    rng = random.SystemRandom()
    assert len({random_token(rng, 22) for _ in range(5000)}) == 5000
    assert [random_token(random.Random(7), 12) for _ in range(2)] == [random_token(random.Random(7), 12)] * 2
    assert random_token(random.Random(7), 12) != random_token(random.Random(8), 12)
