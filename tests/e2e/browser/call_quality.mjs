// Call quality through medrelay against its anchor, the same two Chromium browsers connected peer
// to peer, in one run (docs/media.md "Congestion control"). Each side sends the fake camera and
// microphone and receives the other's; after the call settles, getStats() gives every sender's
// target bitrate and every receiver's decoded resolution and frame rate. Usage:
//   node call_quality.mjs <medrelay binary> <web/dist> <artifacts dir> <case>
// Cases: unshaped (loopback, no shaping: a relay whose congestion feedback is missing or wrong
// starves the browsers' GoogCC at its 30 kbit/s floor, which this case catches).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { artifactsDir, check, done, launchBrowser, startRelay, waitFor } from './harness.mjs';

const [binary, webRoot, artifacts, which] = process.argv.slice(2);
const out = artifactsDir(artifacts);
const browsers = [];
// How long a call runs before it is measured (GoogCC ramps from 300 kbit/s to the fake camera's
// ~1.7 Mbit/s within about 10 s peer to peer), and over how many samples 1 s apart.
const kSettleMs = 12000;
const kSamples = 6;

async function newPage(role) {
  const browser = await launchBrowser();
  browsers.push(browser);
  const page = await browser.context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') console.log(`[${role}] ${m.text()}`); });
  return page;
}

async function closeBrowsers() {
  while (browsers.length > 0) await browsers.pop().close();
}

// Runs in a page: the video sender's and receiver's figures over the page's connections
// (`window.medrelay.connections()` in the web client, `window.pc` on a peer-to-peer page).
async function pageQuality() {
  const pcs = window.medrelay ? Object.values(window.medrelay.connections()) : [window.pc];
  const q = { sent: null, recv: null, audio: null, available: null };
  for (const pc of pcs) {
    const stats = await pc.getStats();
    stats.forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') {
        q.sent = { targetBitrate: s.targetBitrate || 0, limitation: s.qualityLimitationReason,
          frameWidth: s.frameWidth || 0, frameHeight: s.frameHeight || 0, bytesSent: s.bytesSent };
      } else if (s.type === 'inbound-rtp' && s.kind === 'video') {
        q.recv = { frameWidth: s.frameWidth || 0, frameHeight: s.frameHeight || 0,
          framesPerSecond: s.framesPerSecond || 0, framesDecoded: s.framesDecoded || 0,
          freezeCount: s.freezeCount || 0, totalFreezesDuration: s.totalFreezesDuration || 0,
          packetsLost: s.packetsLost || 0, nackCount: s.nackCount || 0, pliCount: s.pliCount || 0 };
      } else if (s.type === 'inbound-rtp' && s.kind === 'audio') {
        q.audio = { concealedSamples: s.concealedSamples || 0, totalSamplesReceived: s.totalSamplesReceived || 0 };
      } else if (s.type === 'candidate-pair' && s.nominated && s.availableOutgoingBitrate) {
        q.available = Math.max(q.available || 0, s.availableOutgoingBitrate);
      }
    });
  }
  return q;
}

// Samples both pages kSamples times after the settle time; per page the median target bitrate
// and frame rate, and the resolution last decoded.
async function measure(label, pages) {
  await new Promise((r) => setTimeout(r, kSettleMs));
  const series = pages.map(() => []);
  for (let i = 0; i < kSamples; ++i) {
    for (let k = 0; k < pages.length; ++k) series[k].push(await pages[k].page.evaluate(pageQuality));
    await new Promise((r) => setTimeout(r, 1000));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const result = pages.map((p, k) => {
    const s = series[k];
    const last = s[s.length - 1];
    return { role: p.role,
      targetBitrate: median(s.map((x) => x.sent?.targetBitrate || 0)),
      limitation: last.sent?.limitation,
      available: median(s.map((x) => x.available || 0)),
      recvWidth: last.recv?.frameWidth || 0, recvHeight: last.recv?.frameHeight || 0,
      recvFps: median(s.map((x) => x.recv?.framesPerSecond || 0)),
      freezes: last.recv?.freezeCount || 0, freezeSeconds: last.recv?.totalFreezesDuration || 0 };
  });
  writeFileSync(join(out, `quality-${which}-${label}.json`), JSON.stringify({ result, series }, null, 2));
  for (const r of result) {
    console.log(`  ${label} ${r.role}: target ${(r.targetBitrate / 1000).toFixed(0)} kbit/s (${r.limitation}),`
      + ` receives ${r.recvWidth}x${r.recvHeight} at ${r.recvFps} fps, ${r.freezes} freezes`);
  }
  return result;
}

// The anchor: one RTCPeerConnection per browser, both sending camera and microphone, offer and
// answer passed through this script after ICE gathering (loopback host candidates).
async function peerToPeer(origin) {
  const pages = [];
  for (const role of ['doctor', 'patient']) {
    const page = await newPage(role);
    await page.goto(origin);  // a secure context (127.0.0.1) for getUserMedia
    await page.evaluate(async () => {
      window.pc = new RTCPeerConnection();
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
      for (const t of stream.getTracks()) window.pc.addTrack(t, stream);
      window.gathered = () => new Promise((r) => {
        if (window.pc.iceGatheringState === 'complete') r();
        else window.pc.addEventListener('icegatheringstatechange', () => { if (window.pc.iceGatheringState === 'complete') r(); });
      });
    });
    pages.push({ page, role });
  }
  const [a, b] = pages.map((p) => p.page);
  const offer = await a.evaluate(async () => {
    await window.pc.setLocalDescription();
    await window.gathered();
    return window.pc.localDescription.toJSON();
  });
  const answer = await b.evaluate(async (o) => {
    await window.pc.setRemoteDescription(o);
    await window.pc.setLocalDescription();
    await window.gathered();
    return window.pc.localDescription.toJSON();
  }, offer);
  await a.evaluate((x) => window.pc.setRemoteDescription(x), answer);
  for (const p of pages) {
    await waitFor(async () => (await p.page.evaluate(pageQuality)).recv?.framesDecoded > 0, 20000,
      `${p.role} decoding peer to peer`);
  }
  return pages;
}

async function throughRelay(relay) {
  const room = await relay.createRoom();
  const pages = [];
  for (const role of ['doctor', 'patient']) {
    const inv = await relay.invite(room, role, { subject: `${role}-${room}` });
    const page = await newPage(role);
    await page.goto(relay.link(room, inv.token));
    pages.push({ page, role });
  }
  const [d, p] = pages;
  await d.page.waitForFunction(() => document.body.dataset.phase === 'call', null, { timeout: 15000 });
  await p.page.waitForFunction(() => document.body.dataset.phase === 'waiting', null, { timeout: 15000 });
  await d.page.locator('#admit').waitFor({ state: 'visible', timeout: 15000 });
  await d.page.click('#admit');
  for (const x of pages) {
    await waitFor(async () => (await x.page.evaluate(pageQuality)).recv?.framesDecoded > 0, 25000,
      `${x.role} decoding through the relay`);
  }
  return pages;
}

async function caseUnshaped() {
  const relay = await startRelay(binary, webRoot);
  try {
    let anchor;
    await check('unshaped: peer-to-peer anchor ramps up', async () => {
      anchor = await measure('p2p', await peerToPeer(relay.base + '/healthz'));
      await closeBrowsers();
      for (const r of anchor) {
        if (r.targetBitrate < 300000) throw new Error(`peer to peer ${r.role} target ${r.targetBitrate}: the anchor itself is starved`);
      }
    });
    await check('unshaped: through medrelay each sender ramps up like peer to peer and each side receives the full picture', async () => {
      const got = await measure('relay', await throughRelay(relay));
      await closeBrowsers();
      if (!anchor) throw new Error('no anchor');
      for (const r of got) {
        const a = anchor.find((x) => x.role === r.role);
        // Target bitrate within half of the anchor's (GoogCC's ramp is noisy run to run; the
        // failure this guards is the 30 kbit/s floor), resolution and frame rate at 0.9x.
        if (r.targetBitrate < 0.5 * a.targetBitrate) {
          throw new Error(`${r.role} sends at ${r.targetBitrate} bit/s through the relay, ${a.targetBitrate} peer to peer`);
        }
        if (r.recvWidth * r.recvHeight < 0.9 * a.recvWidth * a.recvHeight) {
          throw new Error(`${r.role} receives ${r.recvWidth}x${r.recvHeight} through the relay, ${a.recvWidth}x${a.recvHeight} peer to peer`);
        }
        if (r.recvFps < 0.9 * a.recvFps) {
          throw new Error(`${r.role} decodes ${r.recvFps} fps through the relay, ${a.recvFps} peer to peer`);
        }
      }
    });
  } finally {
    await closeBrowsers();
    await relay.stop();
  }
}

const cases = { unshaped: caseUnshaped };
if (!cases[which]) {
  console.log(`unknown case ${which}`);
  process.exit(2);
}
await cases[which]();
done();
