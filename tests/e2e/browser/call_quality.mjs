// Call quality through medrelay against its anchor, the same two Chromium browsers connected peer
// to peer under the same network, in one run (docs/media.md "Congestion control"). Each side
// sends the fake camera and microphone and receives the other's; getStats() gives every sender's
// target bitrate and every receiver's decoded resolution, frame rate, freezes and audio
// concealment. Usage:
//   node call_quality.mjs <medrelay binary> <web/dist> <artifacts dir> <condition> [--bench]
// Conditions: `unshaped` runs on loopback; the others put the patient's browser in a network
// namespace behind a veth shaped with tbf (rate) and nftables (random loss on the receiving side),
// with the relay and the doctor's browser in a second namespace (shaped_net.mjs). Without
// --bench the run asserts the relay is not worse than peer to peer beyond the tolerances below;
// with --bench it only writes the figures (bench/quality collects them).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { artifactsDir, check, done, launchBrowser, startRelay, waitFor } from './harness.mjs';
import { kConditions, runInsideRelayNamespace, ShapedNet } from './shaped_net.mjs';

const [binary, webRoot, artifacts, which, ...flags] = process.argv.slice(2);
const bench = flags.includes('--bench');
const inside = flags.includes('--inside');  // already running in the relay's namespace
const out = artifactsDir(artifacts);
const browsers = [];
const condition = kConditions[which];
if (!condition) {
  console.log(`unknown condition ${which}; one of ${Object.keys(kConditions).join(', ')}`);
  process.exit(2);
}

// A shaped condition needs namespaces: set them up, run this script again inside the relay's
// namespace, tear them down whatever happens.
if (condition.shaped && !inside) {
  if (process.getuid() !== 0) {
    console.log('skipped: shaping a link needs root (network namespaces, tc, nft)');
    process.exit(77);
  }
  const code = await runInsideRelayNamespace(condition, fileURLToPath(import.meta.url),
    [binary, webRoot, artifacts, which, ...flags]);
  process.exit(code);
}

const patientNs = flags.find((f) => f.startsWith('--patient-ns='))?.slice('--patient-ns='.length);
const host = condition.shaped ? ShapedNet.kRelayAddress : '127.0.0.1';

async function newPage(role) {
  // The patient's browser sits behind the shaped link (its own namespace); the doctor's shares
  // the relay's namespace (an unshaped clinic network).
  const options = role === 'patient' && patientNs
    ? { executablePath: ShapedNet.chromiumWrapper(out, patientNs) } : {};
  // The relay's address inside the namespaces is plain HTTP but must be a secure context
  // (getUserMedia), as 127.0.0.1 is.
  if (condition.shaped) options.extraArgs = [`--unsafely-treat-insecure-origin-as-secure=${relay.base}`];
  const browser = await launchBrowser(options);
  browsers.push(browser);
  const page = await browser.context.newPage();
  page.on('console', (m) => { if (m.type() === 'error' && !/404/.test(m.text())) console.log(`[${role}] ${m.text()}`); });
  return page;
}

async function closeBrowsers() {
  while (browsers.length > 0) await browsers.pop().close();
}

// Runs in a page: the video sender's and receiver's figures over the page's connections
// (`window.medrelay.connections()` in the web client, `window.pc` on a peer-to-peer page).
async function pageQuality() {
  const pcs = window.medrelay ? Object.values(window.medrelay.connections()) : [window.pc];
  const q = { t: Date.now(), sent: null, recv: null, audio: null, available: null };
  for (const pc of pcs) {
    const stats = await pc.getStats();
    stats.forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') {
        q.sent = { targetBitrate: s.targetBitrate || 0, limitation: s.qualityLimitationReason,
          frameWidth: s.frameWidth || 0, frameHeight: s.frameHeight || 0, bytesSent: s.bytesSent || 0 };
      } else if (s.type === 'inbound-rtp' && s.kind === 'video') {
        q.recv = { frameWidth: s.frameWidth || 0, frameHeight: s.frameHeight || 0,
          framesPerSecond: s.framesPerSecond || 0, framesDecoded: s.framesDecoded || 0,
          freezeCount: s.freezeCount || 0, totalFreezesDuration: s.totalFreezesDuration || 0,
          packetsLost: s.packetsLost || 0, nackCount: s.nackCount || 0, pliCount: s.pliCount || 0,
          bytesReceived: s.bytesReceived || 0 };
      } else if (s.type === 'inbound-rtp' && s.kind === 'audio') {
        q.audio = { concealedSamples: s.concealedSamples || 0, totalSamplesReceived: s.totalSamplesReceived || 0 };
      } else if (s.type === 'candidate-pair' && s.nominated && s.availableOutgoingBitrate) {
        q.available = Math.max(q.available || 0, s.availableOutgoingBitrate);
      }
    });
  }
  return q;
}

const median = (xs) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : 0);

// Samples every page once a second for the condition's measuring time, running its link steps
// on schedule; returns per role the figures over the window (medians, deltas of counters).
async function measure(label, pages, net) {
  await new Promise((r) => setTimeout(r, condition.settleMs));
  const series = pages.map(() => []);
  const t0 = Date.now();
  const steps = [...(condition.steps || [])];
  while (Date.now() - t0 < condition.measureMs) {
    while (steps.length && Date.now() - t0 >= steps[0].atMs) net.setUplink(steps.shift().rate);
    for (let k = 0; k < pages.length; ++k) {
      const q = await pages[k].page.evaluate(pageQuality);
      q.t -= t0;
      series[k].push(q);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  if (condition.steps) net.setUplink(condition.uplink);
  const result = pages.map((p, k) => summarize(p.role, series[k]));
  writeFileSync(join(out, `quality-${which}-${label}.json`), JSON.stringify({ condition: which, result, series }, null, 2));
  for (const r of result) {
    console.log(`  ${label} ${r.role}: sends ${r.sendKbps.toFixed(0)} kbit/s, target ${(r.targetBitrate / 1000).toFixed(0)} kbit/s (${r.limitation});`
      + ` receives ${r.recvKbps.toFixed(0)} kbit/s, ${r.recvWidth}x${r.recvHeight} at ${r.recvFps} fps, ${r.freezeSeconds.toFixed(1)} s frozen,`
      + ` audio concealed ${(100 * r.concealment).toFixed(1)} %`);
  }
  return result;
}

function summarize(role, s) {
  const first = s[0];
  const last = s[s.length - 1];
  const d = (f) => (f(last) || 0) - (f(first) || 0);
  const audioTotal = d((x) => x.audio?.totalSamplesReceived);
  return {
    role,
    targetBitrate: median(s.map((x) => x.sent?.targetBitrate || 0)),
    limitation: last.sent?.limitation,
    available: median(s.map((x) => x.available || 0)),
    recvWidth: median(s.map((x) => x.recv?.frameWidth || 0)),
    recvHeight: median(s.map((x) => x.recv?.frameHeight || 0)),
    recvFps: median(s.map((x) => x.recv?.framesPerSecond || 0)),
    sendKbps: (8 * d((x) => x.sent?.bytesSent)) / Math.max(1, last.t - first.t),
    recvKbps: (8 * d((x) => x.recv?.bytesReceived)) / Math.max(1, last.t - first.t),
    bandwidthLimited: s.filter((x) => x.sent?.limitation === 'bandwidth').length / s.length,
    freezes: d((x) => x.recv?.freezeCount),
    freezeSeconds: d((x) => x.recv?.totalFreezesDuration),
    framesDecoded: d((x) => x.recv?.framesDecoded),
    packetsLost: d((x) => x.recv?.packetsLost),
    nacks: d((x) => x.recv?.nackCount),
    plis: d((x) => x.recv?.pliCount),
    concealment: audioTotal > 0 ? d((x) => x.audio?.concealedSamples) / audioTotal : 1,
    // Longest run of samples in which no audio arrived (an interrupted call).
    audioGapSeconds: Math.max(0, ...s.slice(1).map((x, i) =>
      ((x.audio?.totalSamplesReceived || 0) === (s[i].audio?.totalSamplesReceived || 0) ? (x.t - s[i].t) / 1000 : 0))),
    // After the last link step: seconds until the sender's target settles within 20 % of its
    // final value (GoogCC's adaptation time).
    adaptSeconds: adaptTime(s),
  };
}

function adaptTime(s) {
  if (!condition.steps) return null;
  const lastStep = condition.steps[condition.steps.length - 1].atMs;
  const after = s.filter((x) => x.t >= lastStep && x.sent);
  if (after.length < 3) return null;
  const final = median(after.slice(-3).map((x) => x.sent.targetBitrate));
  const settled = after.findIndex((x, i) => after.slice(i).every((y) => Math.abs(y.sent.targetBitrate - final) <= 0.2 * final));
  return settled < 0 ? null : (after[settled].t - lastStep) / 1000;
}

// The anchor: one RTCPeerConnection per browser, both sending camera and microphone, offer and
// answer passed through this script after ICE gathering (host candidates).
async function peerToPeer(origin) {
  const pages = [];
  for (const role of ['doctor', 'patient']) {
    const page = await newPage(role);
    await page.goto(origin);  // a secure context for getUserMedia, from the relay's web server
    await page.evaluate(async () => {
      window.pc = new RTCPeerConnection();
      // Play what arrives, as the web client does: audio statistics count played-out samples.
      window.pc.ontrack = (e) => {
        if (e.track.kind !== 'video') return;
        const v = document.createElement('video');
        v.autoplay = true;
        v.srcObject = e.streams[0];
        document.body.append(v);
      };
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
    await waitFor(async () => (await p.page.evaluate(pageQuality)).recv?.framesDecoded > 0, 30000,
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
  await d.page.waitForFunction(() => document.body.dataset.phase === 'call', null, { timeout: 20000 });
  await p.page.waitForFunction(() => document.body.dataset.phase === 'waiting', null, { timeout: 20000 });
  await d.page.locator('#admit').waitFor({ state: 'visible', timeout: 15000 });
  await d.page.click('#admit');
  for (const x of pages) {
    await waitFor(async () => (await x.page.evaluate(pageQuality)).recv?.framesDecoded > 0, 30000,
      `${x.role} decoding through the relay`);
  }
  return pages;
}

// Not worse than peer to peer beyond the tolerances (condition.tolerance, defaults below):
// - the sender's target bitrate: at least half the anchor's, or at least 1.2x what the same
//   sender actually sent peer to peer (the fake camera's content needs ~0.5 Mbit/s, and GoogCC
//   caps its estimate near 1.5x the acknowledged rate unless its start-up probes hit, which is
//   timing-sensitive on a busy machine; a starved sender sits at 30 kbit/s and fails both);
// - the receiver's video bitrate (unless the sender was unconstrained and the relay delivered
//   what it sent), picture size and frame rate; freeze seconds.
function compare(got, anchor) {
  const tol = { bitrate: 0.5, sentRate: 1.2, recvRate: 0.8, picture: 0.9, fps: 0.9, freezeSeconds: 1,
    ...condition.tolerance };
  const problems = [];
  for (const r of got) {
    const a = anchor.find((x) => x.role === r.role);
    const floor = Math.min(tol.bitrate * a.targetBitrate, tol.sentRate * 1000 * a.sendKbps);
    if (r.targetBitrate < floor) {
      problems.push(`${r.role} sends at ${r.targetBitrate} bit/s target through the relay, `
        + `${a.targetBitrate} peer to peer (sending ${a.sendKbps.toFixed(0)} kbit/s)`);
    }
    // A lower received rate counts against the relay unless the relay delivered what the other
    // side's encoder chose to send while nothing limited it (its target at least 1.2x its rate
    // through the relay): the fake camera's VP8 output alone varies 460-630 kbit/s between runs.
    const sender = got.find((x) => x.role !== r.role);
    const encoderChose = sender && sender.targetBitrate >= tol.sentRate * 1000 * sender.sendKbps
      && r.recvKbps >= 0.9 * sender.sendKbps;
    if (r.recvKbps < tol.recvRate * a.recvKbps && !encoderChose) {
      problems.push(`${r.role} receives ${r.recvKbps.toFixed(0)} kbit/s of video through the relay, ${a.recvKbps.toFixed(0)} peer to peer`);
    }
    if (r.recvWidth * r.recvHeight < tol.picture * a.recvWidth * a.recvHeight) {
      problems.push(`${r.role} receives ${r.recvWidth}x${r.recvHeight} through the relay, ${a.recvWidth}x${a.recvHeight} peer to peer`);
    }
    if (r.recvFps < tol.fps * a.recvFps) {
      problems.push(`${r.role} decodes ${r.recvFps} fps through the relay, ${a.recvFps} peer to peer`);
    }
    if (r.freezeSeconds > a.freezeSeconds + tol.freezeSeconds) {
      problems.push(`${r.role} frozen ${r.freezeSeconds.toFixed(1)} s through the relay, ${a.freezeSeconds.toFixed(1)} s peer to peer`);
    }
  }
  if (problems.length) throw new Error(problems.join('; '));
}

const net = condition.shaped ? ShapedNet.attach(condition, patientNs) : { setUplink() {} };
const relay = await startRelay(binary, webRoot, [], host);
const figures = { condition: which, description: condition.description };
try {
  await check(`${which}: peer-to-peer anchor`, async () => {
    figures.p2p = await measure('p2p', await peerToPeer(relay.base + '/healthz'), net);
    await closeBrowsers();
    for (const r of figures.p2p) {
      if (r.framesDecoded === 0) throw new Error(`peer to peer ${r.role} decoded nothing: the anchor itself failed`);
    }
  });
  await check(`${which}: through medrelay${bench ? '' : ', not worse than peer to peer'}`, async () => {
    figures.relay = await measure('relay', await throughRelay(relay), net);
    await closeBrowsers();
    if (!figures.p2p) throw new Error('no anchor');
    if (!bench) compare(figures.relay, figures.p2p);
  });
} finally {
  await closeBrowsers();
  await relay.stop();
  writeFileSync(join(out, `quality-${which}.json`), JSON.stringify(figures, null, 2));
}
done();
