// Prints Chromium offers (headless, via playwright-core and Debian's /usr/bin/chromium):
// "publish" = sendonly audio+video from fake devices, "simulcast" = the same with three video
// rids, "subscribe" = recvonly audio+video, "subscribe-mdns" = the same without the media
// permission grant, so host candidates are mDNS .local names.
import { createRequire } from 'module';
import fs from 'fs';
import os from 'os';
import path from 'path';
const require = createRequire(process.cwd() + '/');
const { chromium } = require('playwright-core');
const mode = process.argv[2];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chromium-sdp-'));
const ctx = await chromium.launchPersistentContext(dir, {
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--use-fake-device-for-media-stream', '--allow-loopback-in-peer-connection',
    // Without the fake-UI grant Chromium hides host addresses behind mDNS names.
    ...(mode === 'subscribe-mdns' ? [] : ['--use-fake-ui-for-media-stream'])],
});
try {
  const page = ctx.pages()[0] || await ctx.newPage();
  const html = path.join(dir, 'blank.html');
  fs.writeFileSync(html, '<!doctype html><title>sdp</title>');
  await page.goto('file://' + html);
  const sdp = await page.evaluate(async (m) => {
    const pc = new RTCPeerConnection();
    if (m === 'publish') {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      for (const t of stream.getTracks()) pc.addTransceiver(t, { direction: 'sendonly', streams: [stream] });
    } else if (m === 'simulcast') {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 1280, height: 720 } });
      pc.addTransceiver(stream.getAudioTracks()[0], { direction: 'sendonly', streams: [stream] });
      pc.addTransceiver(stream.getVideoTracks()[0], { direction: 'sendonly', streams: [stream],
        sendEncodings: [{ rid: 'h' }, { rid: 'm', scaleResolutionDownBy: 2 }, { rid: 'l', scaleResolutionDownBy: 4 }] });
    } else {
      pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.addTransceiver('video', { direction: 'recvonly' });
    }
    await pc.setLocalDescription(await pc.createOffer());
    if (pc.iceGatheringState !== 'complete') {
      await new Promise((r) => pc.addEventListener('icegatheringstatechange',
        () => { if (pc.iceGatheringState === 'complete') r(); }));
    }
    return pc.localDescription.sdp;
  }, mode);
  process.stdout.write(sdp);
} finally {
  await ctx.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
