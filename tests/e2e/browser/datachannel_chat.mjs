// Chromium ↔ Chromium consultation chat through medrelay (docs/media.md "Data channels"): two
// Debian Chromium browsers publish over WHIP to medrelay_media_harness with a microphone and the
// `chat` data channel, after admission. Checked: both directions, ordering of 200 messages, ~60 KiB
// messages, a partially reliable unordered channel (maxRetransmits 0) on both sides, and a third
// participant on node-datachannel (libdatachannel) chatting with both browsers.
// Usage: node datachannel_chat.mjs <medrelay_media_harness>
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { check, done, launchBrowser, waitFor } from './harness.mjs';

const [binary] = process.argv.slice(2);
// 1000 messages/s per session: these bursts test the transport, not the rate limit.
const harness = spawn(binary, ['d2p_with_n', 'doctor', 'patient', 'nurse'], {
  stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, MEDRELAY_HARNESS_DC_RATE: '1000' },
});
const info = await new Promise((resolve, reject) => {
  createInterface({ input: harness.stdout }).once('line', (l) => resolve(JSON.parse(l)));
  harness.once('exit', () => reject(new Error('harness exited')));
});
const base = `http://127.0.0.1:${info.http_port}`;
await fetch(`${base}/test/admit`, { method: 'POST' });

const browsers = [];
async function join(role) {
  const browser = await launchBrowser();
  browsers.push(browser);
  const page = await browser.context.newPage();
  await page.goto(`${base}/test/stats`);  // same origin as the WHIP endpoint
  await page.evaluate(async ({ url, token }) => {
    const pc = new RTCPeerConnection();
    const media = await navigator.mediaDevices.getUserMedia({ audio: true });
    pc.addTransceiver(media.getAudioTracks()[0], { direction: 'sendonly' });
    window.got = [];
    window.openChat = (options) => {
      const dc = pc.createDataChannel('chat', options);
      dc.onmessage = (e) => window.got.push(JSON.parse(e.data));
      window.dc = dc;
      return new Promise((resolve) => { dc.onopen = resolve; });
    };
    const opened = window.openChat({});
    await pc.setLocalDescription(await pc.createOffer());
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${token}` },
      body: pc.localDescription.sdp,
    });
    if (res.status !== 201) throw new Error(`WHIP ${res.status} ${await res.text()}`);
    await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    await opened;
    window.pc = pc;
  }, { url: `${base}/v1/rooms/${info.room}/whip`, token: info.invites[role].token });
  return page;
}

const send = (page, n, prefix, size = 0) => page.evaluate(({ n, prefix, size }) => {
  for (let i = 0; i < n; i += 1) {
    const text = size ? `${prefix}${i}:`.padEnd(size, 'x') : `${prefix}${i}`;
    window.dc.send(JSON.stringify({ type: 'chat', id: `${prefix}${i}`, text }));
  }
}, { n, prefix, size });
const got = (page) => page.evaluate(() => window.got);

try {
  const doctor = await join('doctor');
  const patient = await join('patient');

  await check('doctor → patient and back, in order, labelled by role', async () => {
    await send(doctor, 100, 'd');
    await send(patient, 100, 'p');
    const d = await waitFor(async () => { const g = await got(patient); return g.length >= 100 && g; }, 15000, 'patient gets 100');
    const p = await waitFor(async () => { const g = await got(doctor); return g.length >= 100 && g; }, 15000, 'doctor gets 100');
    if (d.map((m) => m.id).join() !== [...Array(100).keys()].map((i) => `d${i}`).join()) throw new Error('out of order');
    if (p.map((m) => m.id).join() !== [...Array(100).keys()].map((i) => `p${i}`).join()) throw new Error('out of order');
    if (!d.every((m) => m.from === 'doctor' && m.type === 'chat')) throw new Error(JSON.stringify(d[0]));
    if (!p.every((m) => m.from === 'patient')) throw new Error(JSON.stringify(p[0]));
  });

  await check('~60 KiB messages both ways', async () => {
    await send(doctor, 3, 'big', 60000);
    await send(patient, 3, 'BIG', 60000);
    await waitFor(async () => (await got(patient)).filter((m) => m.id.startsWith('big')).length === 3, 15000, 'big to patient');
    await waitFor(async () => (await got(doctor)).filter((m) => m.id.startsWith('BIG')).length === 3, 15000, 'big to doctor');
    const m = (await got(patient)).find((x) => x.id === 'big0');
    if (m.text.length !== 60000) throw new Error(`length ${m.text.length}`);
  });

  await check('unordered, unreliable channels (maxRetransmits 0)', async () => {
    for (const page of [doctor, patient]) {
      await page.evaluate(() => window.openChat({ ordered: false, maxRetransmits: 0 }));
    }
    const before = (await got(patient)).length;
    await send(doctor, 50, 'u');
    // Loopback loses nothing, so all arrive, on the patient's newest (unordered) channel.
    await waitFor(async () => (await got(patient)).length >= before + 50, 15000, 'unordered messages arrive');
    const ids = new Set((await got(patient)).slice(before).map((x) => x.id));
    if (ids.size !== 50) throw new Error(`got ${ids.size} distinct`);
  });
  await check('node-datachannel ↔ Chromium', async () => {
    const nurse = spawn(process.execPath, ['datachannel_ndc_peer.mjs',
      `${base}/v1/rooms/${info.room}/whip`, info.invites.nurse.token], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = [];
    createInterface({ input: nurse.stdout }).on('line', (l) => lines.push(JSON.parse(l)));
    try {
      await waitFor(() => lines.some((l) => l.open), 20000, 'the nurse\'s chat opens');
      nurse.stdin.write(`${JSON.stringify({ send: JSON.stringify({ type: 'chat', id: 'n1', text: 'from ndc' }) })}\n`);
      for (const page of [doctor, patient]) {
        await waitFor(async () => (await got(page)).some((m) => m.id === 'n1' && m.from === 'nurse'), 10000, 'Chromium gets the nurse');
      }
      await send(patient, 1, 'toNurse');
      await waitFor(() => lines.some((l) => l.got && JSON.parse(l.got).id === 'toNurse0'), 10000, 'the nurse gets the patient');
      const m = JSON.parse(lines.find((l) => l.got && JSON.parse(l.got).id === 'toNurse0').got);
      if (m.from !== 'patient') throw new Error(JSON.stringify(m));
    } finally {
      nurse.kill('SIGKILL');
    }
  });
} finally {
  for (const b of browsers) await b.close();
  harness.kill('SIGTERM');
}
done();
