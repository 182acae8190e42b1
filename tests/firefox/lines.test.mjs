// Three phones: alice and carol in Firefox ESR, bob in Chromium.
//
// Firefox calls Firefox (both sides offering only mDNS host candidates) with
// audio both ways, hold and DTMF; an attended transfer made in Firefox
// (alice calls bob, then carol, and joins them) leaves Chromium and Firefox
// talking; a blind transfer made in Chromium sends Firefox (alice) on to
// Firefox (carol).  Each Firefox page plays every part: transferor,
// transferee, transfer target.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";

import {
  assertHears, assertSilent, connect, endAllCalls, hangUp, launchChromium, launchFirefox, makePhone, startServers, withLogs,
} from "./harness.mjs";

let servers, firefox, chromium, alice, bob, carol;

before(async () => {
  servers = await startServers();
  [firefox, chromium] = await Promise.all([launchFirefox(), launchChromium()]);
  // Transfers are followed only by consent: these phones follow their own
  // domain's users (ua_config refer_policy), as a PBX's desk phones would.
  const follow = { ua_config: { refer_policy: "same-domain" } };
  [alice, bob, carol] = await Promise.all([
    makePhone(firefox, servers, "alice", follow),
    makePhone(chromium, servers, "bob", follow),
    makePhone(firefox, servers, "carol", follow),
  ]);
});

afterEach(() => endAllCalls([alice, bob, carol]));

after(async () => {
  for (const phone of [alice, bob, carol]) await phone?.close();
  await Promise.allSettled([firefox?.close(), chromium?.close()]);
  await servers?.stop();
});

async function acceptCalls(...phones) {
  for (const phone of phones) await phone.py("events.clear(); incoming.clear(); mode['answer'] = 'accept'");
}

// After a transfer the two remaining phones talk, each on one established call.
async function assertTalking(one, other) {
  for (const [phone, peer] of [[one, other], [other, one]]) {
    await phone.py("await wait_for(lambda: live_call() is not None)");
    assert.equal(await phone.py("live_call().get_remote_identity().uri"), `sip:${peer.user}@webvoice.test`, phone.name);
  }
  await one.py("await asyncio.sleep(0.5)");
  await assertHears(one, "live_call()");
  await assertHears(other, "live_call()");
}

async function hangUpLive(closer, other) {
  await closer.py("x = live_call()\nx.terminate()\nawait wait_for(x.is_ended)");
  await other.py("await wait_for(lambda: sip.get_call_lines() == [])");
}

describe("webvoice in Firefox, three phones", () => {
  test("Firefox calls Firefox: audio both ways, hold and DTMF", () => withLogs([alice, carol], async () => {
    const candidates = (phone) => phone.py("call.get_connection().localDescription.sdp");
    await connect(alice, carol);
    assert.match(await candidates(alice), /a=candidate:/);
    await assertHears(alice);
    await assertHears(carol);
    await carol.py("events.clear()");
    assert.equal(await alice.py("await call.hold()"), true);
    await carol.py("await wait_for(lambda: tagged('held'))");
    await assertSilent(carol, "alice holds carol");
    assert.equal(await alice.py("await call.unhold()"), true);
    await carol.py("await wait_for(lambda: tagged('unheld'))\nawait asyncio.sleep(0.5)");
    await assertHears(carol);
    await carol.py('await call.send_dtmf("7#", transport_type="INFO")');
    await alice.py("await wait_for(lambda: len(tagged('new_dtmf')) == 2)");
    assert.deepEqual(await alice.py("[e[3] for e in tagged('new_dtmf')]"), ["7", "#"]);
    await hangUp(carol, alice);
  }));

  test("attended transfer in Firefox joins Chromium and Firefox", () => withLogs([alice, bob, carol], async () => {
    await acceptCalls(bob, carol);
    await alice.py("to_b = await sip.call('bob')\nawait wait_for(to_b.is_established)");
    await alice.py("to_c = await sip.call('carol')\nawait wait_for(to_c.is_established)");
    await bob.py("await wait_for(lambda: tagged('held'))"); // the first line was held for the second
    await alice.py("await sip.transfer_call(to_b.get_line_id(), to_c.get_line_id())");
    await alice.py("await wait_for(lambda: sip.get_call_lines() == [])");
    await assertTalking(bob, carol);
    await hangUpLive(bob, carol);
  }));

  test("blind transfer in Chromium sends Firefox on to Firefox", () => withLogs([alice, bob, carol], async () => {
    await acceptCalls(alice, carol);
    await bob.py("to_a = await sip.call('alice')\nawait wait_for(to_a.is_established)");
    await alice.py("await wait_for(lambda: live_call() is not None)");
    await bob.py("await sip.blind_transfer(to_a.get_line_id(), 'sip:carol@webvoice.test')");
    await bob.py("await wait_for(lambda: sip.get_call_lines() == [])");
    await assertTalking(alice, carol);
    await hangUpLive(carol, alice);
  }));
});
