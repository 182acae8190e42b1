"""The demo softphone's contacts panel (demo/contacts.py), used by clicking.

alice and bob sign in to the demo (demo/serve.py, as ``make demo`` runs it):
each sees the other online with an idle lamp; alice's note reaches bob; the
lamp shows bob talking while he calls carol; alice chats with bob (the
unread badge, then the message in bob's chat); a message to dave, who is not
signed in, is marked as not delivered; the voicemail badge says none waiting.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from devtools.browser import ConsoleLog

from .test_demo import STEP_TIMEOUT_MS, VIEWPORT, Consoles, answer, demo, dial  # noqa: F401

BOOT_TIMEOUT_MS = 240_000  # three PyScript pages boot at once; the machine may be busy


@pytest.fixture
def people(browser, demo, request):  # noqa: F811
    contexts = {name: browser.new_context(viewport=VIEWPORT) for name in ("alice", "bob", "carol")}
    pages = {name: context.new_page() for name, context in contexts.items()}
    request.node.browser_console = Consoles(**{name: ConsoleLog(page) for name, page in pages.items()})
    for page in pages.values():
        page.goto(demo.url("/"))
    for name, page in pages.items():
        page.wait_for_function("document.body.dataset.ready === 'yes'", timeout=BOOT_TIMEOUT_MS)
        sign_in(page, name)
    yield pages
    for context in contexts.values():
        context.close()


def sign_in(page, user: str) -> None:
    """Sign in by clicking (the connection labels on the way are test_demo's business)."""
    expect(page.locator("#ws-url")).to_have_value(re.compile(r"^ws://127\.0\.0\.1:\d+$"))
    page.select_option("#user-picker", user)
    expect(page.locator("#password")).to_have_value(f"{user}-secret")
    page.click("#signin-btn")
    expect(page.locator("#reg-state")).to_have_attribute("data-state", "registered", timeout=STEP_TIMEOUT_MS)


def row(page, login):
    return page.locator(f'#contacts li.contact[data-login="{login}"]')


def test_contacts_panel_presence_lamp_chat_and_voicemail(people):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    expect(alice.locator("#contacts-card")).to_be_visible()
    expect(row(alice, "bob").locator(".presence")).to_have_text("online", timeout=STEP_TIMEOUT_MS)
    expect(row(alice, "bob").locator(".lamp")).to_have_attribute("data-lamp", "terminated")
    expect(row(alice, "dave").locator(".presence")).to_have_text("offline")
    expect(alice.locator("#voicemail")).to_have_attribute("data-waiting", "no", timeout=STEP_TIMEOUT_MS)

    alice.fill("#my-note", "away")
    alice.locator("#my-note").press("Enter")
    alice.locator("#my-note").blur()
    expect(row(bob, "alice").locator(".presence")).to_have_text("online · away", timeout=STEP_TIMEOUT_MS)

    dial(bob, "carol")
    answer(carol, "bob")
    expect(row(alice, "bob").locator(".lamp")).to_have_attribute("data-lamp", "confirmed", timeout=STEP_TIMEOUT_MS)
    expect(row(alice, "bob").locator(".line-state")).to_contain_text("with carol")
    bob.click("#hangup-btn")
    expect(row(alice, "bob").locator(".lamp")).to_have_attribute("data-lamp", "terminated", timeout=STEP_TIMEOUT_MS)

    row(alice, "bob").locator("[data-chat]").click()
    alice.fill("#chat-input", "hi bob, free for a call?")
    alice.click("#chat-send")
    expect(alice.locator("#chat-log li.mine")).to_contain_text("hi bob, free for a call?")
    expect(row(bob, "alice").locator(".unread")).to_have_text("1", timeout=STEP_TIMEOUT_MS)
    row(bob, "alice").locator("[data-chat]").click()
    expect(bob.locator("#chat-log li.theirs")).to_contain_text("hi bob, free for a call?")

    row(alice, "dave").locator("[data-chat]").click()
    alice.fill("#chat-input", "are you there?")
    alice.click("#chat-send")
    expect(alice.locator("#chat-log li.error")).to_contain_text("not delivered: not signed in",
                                                                timeout=STEP_TIMEOUT_MS)
