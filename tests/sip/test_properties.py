"""Property tests: generated messages round-trip; garbage only ever gives SipParseError.

The four fuzzing tests below feed the parser 4 x 2,500 = 10,000 generated
inputs per run (arbitrary bytes and text, mutated torture messages, mutated
valid messages), each of which must give a message or SipParseError only.
"""

from __future__ import annotations

import json
import pathlib
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webvoice.sip import (
    MessageReader,
    NameAddr,
    Request,
    Response,
    SipParseError,
    SipUri,
    Via,
    build_request,
    parse_message,
    parse_uri,
)

CORPUS = pathlib.Path(__file__).resolve().parents[1] / "data" / "rfc4475"
SEEDS = [(CORPUS / row["file"]).read_bytes() for row in json.loads((CORPUS / "manifest.json").read_text())]

FUZZ = settings(max_examples=2500, deadline=None, suppress_health_check=list(HealthCheck))

# --- generated valid messages ----------------------------------------------------------

token = st.text(string.ascii_letters + string.digits + "-.!%*_+`'~", min_size=1, max_size=12)
user = st.text(string.ascii_letters + string.digits + "-_.!~*'()&=+$,;?/", min_size=1, max_size=16)
label = st.builds(str.__add__, st.sampled_from(string.ascii_lowercase), st.text(string.ascii_lowercase + string.digits, max_size=8))
host = st.builds(lambda labels: ".".join(labels), st.lists(label, min_size=1, max_size=3))
port = st.one_of(st.none(), st.integers(0, 65535))
param_value = st.one_of(st.none(), st.text(string.ascii_letters + string.digits + "-_.", min_size=1, max_size=8))
params = st.lists(st.tuples(st.sampled_from(["transport", "lr", "x", "ob", "user"]), param_value), max_size=3)
sip_uri = st.builds(lambda s, u, h, p, ps: SipUri(s, u, h, p, ps), st.sampled_from(["sip", "sips"]), st.one_of(st.none(), user), host, port, params)
display = st.one_of(st.none(), st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=20))
header_params = st.lists(st.tuples(st.sampled_from(["tag", "expires", "q", "x-p"]), param_value), max_size=2, unique_by=lambda kv: kv[0])
name_addr = st.builds(NameAddr, sip_uri, display, header_params)
# Unknown header values: any text but controls, no outer white space (it is trimmed).
free_text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40).map(str.strip)
extra_headers = st.lists(st.tuples(token.map(lambda t: "X-" + t), free_text), max_size=5)


@st.composite
def requests(draw) -> Request:
    method = draw(st.sampled_from(["INVITE", "OPTIONS", "BYE", "INFO", "MESSAGE"])) if draw(st.booleans()) else draw(token)
    return build_request(
        method,
        draw(sip_uri),
        from_=draw(name_addr),
        to=draw(name_addr),
        call_id=draw(st.text(string.ascii_letters + string.digits + ".-", min_size=1, max_size=20)) + draw(st.sampled_from(["", "@host.example"])),
        cseq=draw(st.integers(0, 2**31 - 1)),
        via=draw(st.lists(st.builds(Via, st.sampled_from(["WS", "WSS", "UDP", "TCP"]), host, port, st.lists(st.tuples(st.just("branch"), token), max_size=1)), min_size=1, max_size=3)),
        max_forwards=draw(st.one_of(st.none(), st.integers(0, 255))),
        contact=draw(st.one_of(st.none(), name_addr)),
        headers=draw(extra_headers),
        body=draw(st.binary(max_size=64)),
    )


@given(requests())
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_requests_round_trip(request):
    assert parse_message(bytes(request)) == request


@given(requests(), st.integers(100, 699), st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30))
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_responses_round_trip(request, code, reason):
    response = request.response(code, reason, to_tag="t1")
    again = parse_message(bytes(response))
    assert isinstance(again, Response) and again == response


@given(sip_uri)
@settings(max_examples=500, deadline=None)
def test_generated_uris_round_trip(uri):
    assert parse_uri(str(uri)) == uri
    assert parse_uri(str(uri)).equivalent(uri)


# --- garbage in, SipParseError out -----------------------------------------------------------


def only_parse_errors(data: bytes) -> None:
    try:
        message = parse_message(data)
    except SipParseError:
        return
    assert isinstance(message, (Request, Response))
    bytes(message)  # whatever parsed can be written


@given(st.binary(max_size=600))
@FUZZ
def test_arbitrary_bytes(data):
    only_parse_errors(data)


@given(st.text(max_size=300))
@FUZZ
def test_arbitrary_text(text):
    try:
        parse_message(text)
    except SipParseError:
        pass


@st.composite
def mutated(draw, seeds):
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "dup"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from([b"\r\n", b",", b";", b"<", b">", b'"', b"\\", b":", b" ", b"\x00", b"%", b"@", b"\t"]))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 20))]
        else:
            end = min(len(data), at + draw(st.integers(1, 40)))
            data[at:at] = data[at:end]
    return bytes(data)


@given(mutated(SEEDS))
@FUZZ
def test_mutated_torture_messages(data):
    only_parse_errors(data)


VALID_SEEDS = [bytes(r) for r in (
    build_request("INVITE", "sip:bob@example.com", from_=NameAddr("sip:alice@example.com", "Alice", {"tag": "1"}),
                  to=NameAddr("sip:bob@example.com"), call_id="c1@h", cseq=1,
                  via=Via("WSS", "a.invalid", params=[("branch", "z9hG4bK1")]),
                  contact=NameAddr("sip:alice@a.invalid;transport=ws"), body=b"v=0\r\n", content_type="application/sdp"),
)]


@given(mutated(VALID_SEEDS))
@FUZZ
def test_mutated_valid_messages(data):
    only_parse_errors(data)


@given(st.lists(st.one_of(st.sampled_from(SEEDS + VALID_SEEDS), st.binary(max_size=50)), max_size=5), st.integers(1, 64))
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
def test_stream_reader_never_crashes_and_never_hoards(chunks, step):
    reader = MessageReader()
    data = b"".join(chunks)
    for i in range(0, len(data), step):
        reader.feed(data[i:i + step])
        while True:
            try:
                if reader.next_message() is None:
                    break
            except SipParseError:
                continue
    assert reader.buffered <= len(data)
