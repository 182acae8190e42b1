"""The packages' lazy exports (webvoice/sip/util/_lazy.py) behave as plain imports do."""

import pytest

import webvoice
import webvoice.sip as sip
from webvoice.sip.dialog._dialog import Dialog


def test_names_resolve_to_their_modules_objects_and_are_listed():
    assert sip.Dialog is Dialog
    assert "Dialog" in dir(sip) and "parse_message" in dir(sip)
    assert webvoice.Call.__module__ == "webvoice._calls" and "Call" in dir(webvoice)
    for name in sip.__all__:
        assert getattr(sip, name) is not None


def test_unknown_names_raise_attribute_error_naming_the_package():
    with pytest.raises(AttributeError, match="'webvoice.sip' has no attribute 'Nope'"):
        sip.Nope  # noqa: B018
    with pytest.raises(ImportError):
        from webvoice import Nope  # noqa: F401
