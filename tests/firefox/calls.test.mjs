// webvoice in Firefox against webvoice in Chromium, through the test Kamailio.
//
// alice runs in Firefox ESR, bob in Chromium: Firefox loads and registers;
// each calls the other with audio checked both ways (packets and audio
// energy received); each holds and resumes the other (re-INVITE and UPDATE);
// each sends DTMF to the other by SIP INFO (received as events) and by
// RFC 4733 (telephone-events played by the sender's RTCDTMFSender on the
// negotiated payload type).

import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";

import { endAllCalls, launchChromium, launchFirefox, makePhone, startServers, withLogs } from "./harness.mjs";

// Energy is the sum of squared sample levels (0..1) over seconds of audio.
// Firefox's fake microphone is a quiet 1 kHz tone: about 0.01 a second as
// Chromium receives it (Chromium's fake beeps: over 0.2 in Firefox), so
// AUDIBLE sits a third below that; silence, or nothing received, stays
// under SILENCE once the receiver's jitter buffer has drained.
const AUDIBLE = 0.003;
const SILENCE = 1e-4;

let servers, firefox, chromium, alice, bob;

before(async () => {
  servers = await startServers();
  [firefox, chromium] = await Promise.all([launchFirefox(), launchChromium(servers)]);
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

// caller places a call to callee, who answers; both hold it as `call`.
async function connect(caller, callee) {
  await callee.py("events.clear(); incoming.clear(); mode['answer'] = 'accept'");
  await caller.py(`
events.clear()
call = await sip.call(${JSON.stringify(callee.user)}, recorders())
calls.append(call)
await wait_for(call.is_established)
`);
  await callee.py("await wait_for(lambda: incoming and incoming[-1].call.is_established())\ncall = incoming[-1].call");
}

async function hangUp(closer, other) {
  await closer.py("call.terminate()\nawait wait_for(call.is_ended)");
  await other.py("await wait_for(call.is_ended)");
  for (const phone of [closer, other]) assert.equal(await phone.py("audio_elements()"), 0, phone.name);
}

async function assertHears(phone) {
  const growth = await phone.py("await inbound_growth(call)");
  assert.ok(growth.packets > 20 && growth.energy > AUDIBLE, `${phone.name} hears nothing: ${JSON.stringify(growth)}`);
}

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
        await held.py("await asyncio.sleep(0.5)"); // packets already in flight
        const silent = await held.py("await inbound_growth(call)");
        assert.ok(silent.packets <= 3 && silent.energy < SILENCE, `${how}: still hears ${JSON.stringify(silent)}`);
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
});

function pyDict(object) {
  return `json.loads(${JSON.stringify(JSON.stringify(object))})`;
}
