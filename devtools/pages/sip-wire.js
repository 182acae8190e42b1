// Test instrumentation (before webvoice boots): what this page's WebSockets carry, both ways,
// so a test checks the SIP on the wire instead of reading webvoice's private state.
// window.sipWire: [{dir: "out" | "in", text}], every frame but keep-alives (CRLFs).
(() => {
  const wire = (window.sipWire = []);
  const decoder = new TextDecoder();
  const text = (data) => (typeof data === "string" ? data
    : data instanceof ArrayBuffer ? decoder.decode(new Uint8Array(data))
    : ArrayBuffer.isView(data) ? decoder.decode(data) : null);
  const record = (dir, data) => {
    const t = text(data);
    if (t !== null && t.replace(/[\r\n]/g, "") !== "") wire.push({ dir, text: t });
  };
  const Original = window.WebSocket;
  class TappedWebSocket extends Original {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => record("in", event.data));
    }
    send(data) {
      record("out", data);
      return super.send(data);
    }
  }
  window.WebSocket = TappedWebSocket;
})();
