// Chromium (Debian's /usr/bin/chromium, headless through playwright-core) accepts medrelay's
// ICE-lite answers to its own live offers: sendonly audio+video from fake devices (WHIP) and
// recvonly audio+video (WHEP, answered with our SSRCs). No media flows; setRemoteDescription
// succeeding and the resulting transceiver directions are what is checked.
// Usage: node sdp_chromium_answer.mjs <medrelay_sdp_tool>
import { spawnSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { chromium } from 'playwright-core';

const tool = process.argv[2];

function answerFor(offer, flags) {
  const p = spawnSync(tool, flags, { input: offer, timeout: 30000 });
  if (p.status !== 0) throw new Error(`medrelay_sdp_tool failed: ${p.stderr}`);
  return p.stdout.toString();
}

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'medrelay-chromium-'));
const ctx = await chromium.launchPersistentContext(dir, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    '--allow-loopback-in-peer-connection'],
});
try {
  const page = ctx.pages()[0] || (await ctx.newPage());
  const html = path.join(dir, 'blank.html');
  fs.writeFileSync(html, '<!doctype html><title>medrelay sdp</title>');
  await page.goto('file://' + html);  // a secure context, so getUserMedia exists
  await page.exposeFunction('medrelayAnswer', (offer, flags) => answerFor(offer, flags));
  const cases = [
    { name: 'publish', flags: [], want: ['sendonly', 'sendonly'] },
    { name: 'subscribe', flags: ['--send'], want: ['recvonly', 'recvonly'] },
    { name: 'control', flags: [], stripFingerprint: true },
  ];
  for (const c of cases) {
    const got = await page.evaluate(async (cs) => {
      const pc = new RTCPeerConnection();
      try {
        if (cs.name === 'subscribe') {
          pc.addTransceiver('audio', { direction: 'recvonly' });
          pc.addTransceiver('video', { direction: 'recvonly' });
        } else {
          const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
          for (const t of stream.getTracks()) {
            pc.addTransceiver(t, { direction: 'sendonly', streams: [stream] });
          }
        }
        await pc.setLocalDescription(await pc.createOffer());
        let answer = await window.medrelayAnswer(pc.localDescription.sdp, cs.flags);
        if (cs.stripFingerprint) answer = answer.replace(/a=fingerprint:[^\r]*\r\n/g, '');
        try {
          await pc.setRemoteDescription({ type: 'answer', sdp: answer });
        } catch (e) {
          return { error: String(e) };
        }
        return {
          state: pc.signalingState,
          directions: pc.getTransceivers().map((t) => t.currentDirection),
          codecs: pc.getTransceivers().map((t) =>
            (t.sender.getParameters().codecs || []).map((x) => x.mimeType).join(',')),
        };
      } finally {
        pc.close();
      }
    }, c);
    if (c.stripFingerprint) {
      check(got.error, 'control: Chromium accepted an answer without a=fingerprint');
      console.log(`chromium control: refused as expected (${got.error.slice(0, 80)}...)`);
      continue;
    }
    check(!got.error, `${c.name}: setRemoteDescription failed: ${got.error}`);
    check(got.state === 'stable', `${c.name}: signalingState ${got.state}`);
    check(JSON.stringify(got.directions) === JSON.stringify(c.want),
      `${c.name}: directions ${got.directions}`);
    console.log(`chromium ${c.name}: answer accepted, directions ${got.directions}, ` +
      `send codecs ${JSON.stringify(got.codecs)}`);
  }
} finally {
  await ctx.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
