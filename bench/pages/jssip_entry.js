// esbuild entry for build/bench/jssip.js (bench/jssip_bundle.py builds it):
// JsSIP 3.13 as an IIFE exposing window.JsSIP, plus its internal message
// parser as window.JsSIPParser. Parser.parseMessage(data, ua) is what
// JsSIP's UA calls on every incoming WebSocket frame (lib/UA.js,
// onTransportData); the public JsSIP object does not export it.
const JsSIP = require("jssip");

window.JsSIPParser = require("jssip/lib/Parser");
module.exports = JsSIP;
