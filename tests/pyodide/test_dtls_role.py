"""webvoice.browser._negotiation.keep_dtls_role: an answer to a subsequent ``actpass``
offer keeps the DTLS role we have (Firefox answers an ICE restart ``active``
whatever its role, which Chromium refuses when it is the client), inside
Pyodide (the package imports ``js``)."""

from pytest_pyodide import run_in_pyodide


@run_in_pyodide(packages=["webvoice"])
def test_an_answer_keeps_the_dtls_role_of_the_association(selenium):
    from webvoice.browser._negotiation import dtls_setup, keep_dtls_role

    offer = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=setup:actpass\r\na=mid:0\r\n"
    flipped = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=setup:active\r\na=mid:0\r\n"
    assert dtls_setup(offer) == "actpass" and dtls_setup("v=0\r\n") is None
    kept = keep_dtls_role(flipped, offer, "passive")
    assert dtls_setup(kept) == "passive" and kept.replace("passive", "active") == flipped
    assert keep_dtls_role(flipped, offer, "active") == flipped  # already our role
    assert keep_dtls_role(flipped, offer, None) == flipped  # no association yet: the browser chooses
    pinned = offer.replace("actpass", "passive")  # the offerer chose: the answer must be its complement
    assert keep_dtls_role(flipped, pinned, "passive") == flipped


@run_in_pyodide(packages=["webvoice"])
def test_the_ice_ufrag_of_a_description(selenium):
    # A new a=ice-ufrag from the peer is an ICE restart: our answer then gathers anew.
    from webvoice.browser._negotiation import ice_ufrag

    sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:Ab+/\r\na=ice-pwd:x\r\na=mid:0\r\n"
    assert ice_ufrag(sdp) == "Ab+/"
    assert ice_ufrag("v=0\r\nm=audio 9 RTP/AVP 0\r\n") is None
