// Test instrumentation (before webvoice boots): spoil the remote answer this page applies.
// window.webvoiceMangle = "fingerprint": the DTLS fingerprint cannot match (DTLS fails);
// "ice-pwd": the ICE password is wrong (no connectivity check succeeds, ICE stalls).
(() => {
  const original = RTCPeerConnection.prototype.setRemoteDescription;
  const spoil = {
    "fingerprint": (sdp) => sdp.replace(/^a=fingerprint:(\S+) (\S+)$/gim,
      (line, alg, fp) => `a=fingerprint:${alg} ${fp.replace(/[0-9A-F]/gi, "0")}`),
    "ice-pwd": (sdp) => sdp.replace(/^a=ice-pwd:(\S+)$/gim, "a=ice-pwd:wrongwrongwrongwrongwrong"),
  };
  RTCPeerConnection.prototype.setRemoteDescription = function (description, ...rest) {
    const how = spoil[window.webvoiceMangle];
    if (how && description && description.type === "answer") {
      description = { type: "answer", sdp: how(description.sdp) };
      window.webvoiceMangled = (window.webvoiceMangled || 0) + 1;
    }
    return original.call(this, description, ...rest);
  };
})();
