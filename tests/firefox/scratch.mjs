import { launchChromium, launchFirefox, makePhone, startServers, connect } from "./harness.mjs";
const servers = await startServers();
const [firefox, chromium] = await Promise.all([launchFirefox(), launchChromium(servers)]);
const [alice, bob] = await Promise.all([makePhone(firefox, servers, "alice"), makePhone(chromium, servers, "bob")]);
try {
  await connect(alice, bob);
  for (const p of [alice, bob]) {
    console.log(p.name, await p.py("[[d.kind, d.device_id, d.label] for d in await sip.get_audio_devices()]"));
    console.log(p.name, await p.py("sip.supports_speaker_selection()"));
    console.log(p.name, await p.page.evaluate(async () => JSON.stringify((await navigator.mediaDevices.enumerateDevices()).map(d => [d.kind, d.label, d.deviceId]))));
    console.log(p.name, await p.page.evaluate(() => document.querySelector("audio[data-webvoice-line]").sinkId));
    try { console.log(p.name, await p.py("await sip.set_speaker(None)\nsip.get_current_speaker()")); } catch (e) { console.log(p.name, e.message); }
    try { console.log(p.name, await p.page.evaluate(async () => { try { const d = await navigator.mediaDevices.selectAudioOutput(); return d.deviceId; } catch (e) { return String(e); } })); } catch (e) { console.log(e.message); }
  }
} finally { await alice.close(); await bob.close(); await firefox.close(); await chromium.close(); await servers.stop(); }
