// webvoice in Firefox against webvoice in Chromium, through the test Kamailio.
//
// alice runs in Firefox ESR, bob in Chromium: Firefox loads and registers;
// each calls the other with audio checked both ways (packets and audio
// energy received); each holds and resumes the other (re-INVITE and UPDATE);
// each sends DTMF to the other by SIP INFO (received as events) and by
// RFC 4733 (telephone-events played by the sender's RTCDTMFSender on the
// negotiated payload type); each lists its audio devices, changes its
// microphone and its speaker in the middle of a call (every output it
// lists; Firefox without an audio server lists none, but has setSinkId) and
// is still heard, and an unknown speaker is refused by name.  A Firefox
// without WebRTC fails calls both ways with the JS SDK's cause, before it
// asks for the microphone.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";

import {
  assertHears, assertSilent, connect, endAllCalls, hangUp, launchChromium, launchFirefox, makePhone, RESTRICTED, startServers,
  withLogs,
} from "./harness.mjs";

let servers, firefox, chromium, alice, bob;

before(async () => {
  servers = await startServers();
  [firefox, chromium] = await Promise.all([launchFirefox(), launchChromium()]);
  [alice, bob] = await Promise.all([
    makePhone(firefox, servers, "alice"),
    makePhone(chromium, servers, "bob"),
  ]);
});

// A failed test must not leave a call up for the next one.
afterEach(() => endAllCalls([alice, bob]));

after(async () => {
  for (const phone of [alice, bob]) await phone?.close();
  await Promise.allSettled([firefox?.close(), chromium?.close()]);
  await servers?.stop();
});

describe("webvoice in Firefox", () => {
  test("loads and registers", () => withLogs([alice], async () => {
    assert.match(await alice.page.evaluate(() => navigator.userAgent), /Firefox\//);
    assert.equal(await alice.py("sip.is_registered()"), true);
    assert.equal(await alice.py("webvoice.__version__"), await bob.py("webvoice.__version__"));
  }));

  for (const [from, to] of [["alice", "bob"], ["bob", "alice"]]) {
    const label = from === "alice" ? "Firefox calls Chromium" : "Chromium calls Firefox";
    test(`${label}: audio flows both ways`, () => withLogs([alice, bob], async () => {
      const [caller, callee] = from === "alice" ? [alice, bob] : [bob, alice];
      await connect(caller, callee);
      assert.deepEqual((await caller.py("[e[0] for e in events]")).slice(0, 2), ["progress", "confirmed"]);
      assert.equal(await callee.py("incoming[-1].event.session.remote_identity.uri"),
        `sip:${caller.user}@webvoice.test`);
      await assertHears(alice);
      await assertHears(bob);
      const stats = await alice.py("await call.get_stats()");
      assert.ok(stats.outbound.packets_sent > 0 && stats.inbound.bytes_received > 0, JSON.stringify(stats));
      assert.equal(stats.codec, "audio/opus");
      await hangUp(caller, callee);
    }));
  }

  test("hold and unhold both ways, by re-INVITE and by UPDATE", () => withLogs([alice, bob], async () => {
    await connect(alice, bob);
    for (const [holder, held] of [[alice, bob], [bob, alice]]) {
      for (const options of [null, { use_update: true }]) {
        const how = `${holder.name} holds ${held.name} by ${options ? "UPDATE" : "re-INVITE"}`;
        const [hold, unhold] = options
          ? [`call.hold_with_options(${pyDict(options)})`, `call.unhold_with_options(${pyDict(options)})`]
          : ["call.hold()", "call.unhold()"];
        await held.py("events.clear()");
        assert.equal(await holder.py(`await ${hold}`), true, how);
        await held.py("await wait_for(lambda: tagged('held'))");
        assert.equal(await held.py("tagged('held')[0][2]"), "remote", how);
        assert.equal(await held.py("call.is_on_hold().remote"), true, how);
        await assertSilent(held, how);
        assert.equal(await holder.py(`await ${unhold}`), true, how);
        await held.py("await wait_for(lambda: tagged('unheld'))");
        await held.py("await asyncio.sleep(0.5)");
        await assertHears(held);
        await assertHears(holder);
      }
    }
    await hangUp(alice, bob);
  }));

  test("DTMF both ways, by SIP INFO and by RFC 4733", () => withLogs([alice, bob], async () => {
    await connect(alice, bob);
    for (const [sender, receiver] of [[alice, bob], [bob, alice]]) {
      await receiver.py("events.clear()");
      await sender.py('await call.send_dtmf("12#", transport_type="INFO", duration=100, inter_tone_gap=70)');
      await receiver.py("await wait_for(lambda: len(tagged('new_dtmf')) == 3)");
      assert.deepEqual(await receiver.py("[e[3] for e in tagged('new_dtmf')]"), ["1", "2", "#"], sender.name);
      // RFC 4733: both SDPs carry telephone-event and the sender plays the tones
      // on it (what RTCDTMFSender reports as it goes).
      assert.match(await sender.py("call.get_connection().remoteDescription.sdp"), /telephone-event\/8000/);
      assert.match(await sender.py("call.get_connection().localDescription.sdp"), /telephone-event\/8000/);
      const tones = await sender.py(`
played = []
from pyodide.ffi import create_proxy
sender = [s for s in call.get_connection().getSenders() if s.track][0]
listener = create_proxy(lambda event: played.append(event.tone))
sender.dtmf.addEventListener("tonechange", listener)
await call.send_dtmf("3*9", duration=100, inter_tone_gap=70)
await wait_for(lambda: played and played[-1] == "")
sender.dtmf.removeEventListener("tonechange", listener)
listener.destroy()
played
`);
      assert.deepEqual(tones.filter((t) => t), ["3", "*", "9"], sender.name);
    }
    await hangUp(bob, alice);
  }));

  test("audio devices, the microphone and the speaker during a call", () => withLogs([alice, bob], async () => {
    await connect(alice, bob);
    for (const phone of [alice, bob]) {
      const devices = await phone.py("[[d.kind, d.device_id, d.label] for d in await sip.get_audio_devices()]");
      const inputs = devices.filter(([kind]) => kind === "audioinput");
      const outputs = devices.filter(([kind]) => kind === "audiooutput");
      assert.ok(inputs.length >= 1 && inputs.every(([, id, label]) => id && label), `${phone.name}: ${devices}`);
      assert.equal(inputs.length + outputs.length, devices.length, `${phone.name}: ${devices}`);
      // Another microphone (or the same one again) in the middle of the call: still heard.
      const [, mic] = inputs[inputs.length - 1];
      await phone.py(`await sip.set_microphone(${JSON.stringify(mic)})`);
      assert.equal(await phone.py("sip.get_current_microphone()"), mic);
      await phone.py("await asyncio.sleep(0.3)");
      await assertHears(phone === alice ? bob : alice);
      // Speaker selection is there when the browser has HTMLMediaElement.setSinkId
      // (Firefox 116 and later, Chromium).
      const sinkIdInPage = await phone.page.evaluate(() => "setSinkId" in HTMLMediaElement.prototype);
      assert.equal(await phone.py("sip.supports_speaker_selection()"), sinkIdInPage);
      assert.ok(sinkIdInPage, phone.name);
      const sinkId = () => phone.page.evaluate(() => document.querySelector("audio[data-webvoice-line]").sinkId);
      for (const [, speaker] of outputs) {
        await phone.py(`await sip.set_speaker(${JSON.stringify(speaker)})`);
        assert.equal(await sinkId(), speaker, phone.name);
        await assertHears(phone);
      }
      await phone.py("await sip.set_speaker(None)");
      assert.equal(await sinkId(), "", phone.name);
      assert.equal(await phone.py("sip.get_current_speaker()"), null);
      assert.match(await phone.py(`
try:
    await sip.set_speaker("no-such-speaker")
except webvoice.DeviceNotFoundError as exc:
    error = str(exc)
error`), /no audiooutput with id 'no-such-speaker'/);
      assert.equal(await phone.py("sip.get_current_speaker()"), null);
      await assertHears(phone);
    }
    await hangUp(alice, bob);
  }));

  test("without WebRTC, calls fail cleanly before the microphone is asked for", async () => {
    // RESTRICTED: no RTCPeerConnection, and a microphone permission that is
    // "block": a call that asked for the microphone first would fail as
    // "User Denied Media Access" instead.
    const restricted = await launchFirefox(RESTRICTED);
    try {
      const dave = await makePhone(restricted, servers, "dave");
      await withLogs([dave, bob], async () => {
        assert.equal(await dave.page.evaluate(() => typeof RTCPeerConnection), "undefined");
        await dave.py("call = await sip.call('bob', recorders())\nawait wait_for(call.is_ended)");
        assert.deepEqual(await dave.py("[e[1] for e in tagged('failed')]"), ["WebRTC Error"]);
        assert.deepEqual(await dave.py("sip.get_call_lines()"), []);
        assert.equal(await dave.py("audio_elements()"), 0);
        // Called, it declines with 488 (Not Acceptable Here) and keeps no line.
        await bob.py("events.clear()\ncall = await sip.call('dave', recorders())\nawait wait_for(call.is_ended)");
        assert.deepEqual(await bob.py("[e[4] for e in tagged('failed')]"), [488]);
        await dave.py("await wait_for(lambda: incoming and incoming[-1].call.is_ended())");
        assert.deepEqual(await dave.py("sip.get_call_lines()"), []);
        // Registration and the device list do not need WebRTC; the blocked microphone shows there.
        assert.equal(await dave.py("sip.is_registered()"), true);
        assert.equal(await dave.py(`
try:
    await sip.get_audio_devices()
except webvoice.MediaPermissionError as exc:
    error = type(exc).__name__
error`), "MediaPermissionError");
      });
    } finally {
      await restricted.close();
    }
  });
});

function pyDict(object) {
  return `json.loads(${JSON.stringify(JSON.stringify(object))})`;
}
