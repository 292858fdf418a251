// node-datachannel 0.33.4 (libdatachannel, AEAD_AES_128_GCM) as a WHIP publisher or a WHEP
// subscriber of medrelay, driven by media_node_datachannel.py.
//
// publish <whip-url> <token> <video.rtpstream> <audio.rtpstream> <seconds>
//   Sends RTP from two RFC 4571-framed files (2-byte length + packet, written by GStreamer's
//   rtpstreampay: VP8 starting with a keyframe, Opus) on its Track, rewriting SSRC, payload type,
//   sequence and timestamp so the loop is one continuous stream: one video frame per 33 ms, one
//   audio packet per 20 ms. Prints {"connected": true} then {"sent": {...}} as JSON lines.
// subscribe <whep-url> <token> <seconds>
//   Counts the RTP packets, VP8 frames (marker bit) and VP8 keyframes (RFC 7741 §4.3 P bit) that
//   arrive on its Tracks; prints {"received": {...}} every second.
import fs from 'fs';
import ndc from 'node-datachannel';

const [mode, url, token] = process.argv.slice(2);
const kVideoSsrc = 2222;
const kAudioSsrc = 1111;
const kVp8 = 96;
const kOpus = 111;

function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function readStream(path) {
  const buf = fs.readFileSync(path);
  const out = [];
  for (let off = 0; off + 2 <= buf.length;) {
    const len = buf.readUInt16BE(off);
    out.push(Buffer.from(buf.subarray(off + 2, off + 2 + len)));
    off += 2 + len;
  }
  return out;
}

// One continuous RTP stream out of a looped capture (RFC 3550 §5.1 fields rewritten).
class Looper {
  constructor(packets, ssrc, pt, tsGap) {
    this.packets = packets;
    this.ssrc = ssrc;
    this.pt = pt;
    this.first = packets[0].readUInt32BE(4);
    this.span = (packets[packets.length - 1].readUInt32BE(4) - this.first + tsGap) >>> 0;
    this.i = 0;
    this.loop = 0;
    this.seq = 1000;
  }

  next() {
    const p = Buffer.from(this.packets[this.i]);
    p[1] = (p[1] & 0x80) | this.pt;
    p.writeUInt16BE(this.seq, 2);
    this.seq = (this.seq + 1) & 0xffff;
    const ts = (p.readUInt32BE(4) - this.first + this.loop * this.span + 12345) >>> 0;
    p.writeUInt32BE(ts, 4);
    p.writeUInt32BE(this.ssrc, 8);
    if (++this.i === this.packets.length) {
      this.i = 0;
      this.loop += 1;
    }
    return p;
  }
}

function connect(tracks) {
  const pc = new ndc.PeerConnection(mode, {
    iceServers: [], bindAddress: '127.0.0.1', disableAutoNegotiation: true,
  });
  const dir = mode === 'publish' ? 'SendOnly' : 'RecvOnly';
  const audio = new ndc.Audio('0', dir);
  audio.addOpusCodec(kOpus);
  const video = new ndc.Video('1', dir);
  video.addVP8Codec(kVp8);
  if (dir === 'SendOnly') {
    audio.addSSRC(kAudioSsrc, 'ndc-cname', 'ndc-stream', 'ndc-audio');
    video.addSSRC(kVideoSsrc, 'ndc-cname', 'ndc-stream', 'ndc-video');
  }
  tracks.audio = pc.addTrack(audio);
  tracks.video = pc.addTrack(video);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no ICE gathering')), 10000);
    pc.onGatheringStateChange(async (state) => {
      if (state !== 'complete') return;
      clearTimeout(timer);
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${token}` },
        body: pc.localDescription().sdp,
      });
      const answer = await res.text();
      if (res.status !== 201) {
        reject(new Error(`${mode}: HTTP ${res.status} ${answer}`));
        return;
      }
      pc.setRemoteDescription(answer, 'answer');
      resolve(pc);
    });
    pc.setLocalDescription();
  });
}

function waitOpen(track) {
  return new Promise((resolve) => {
    if (track.isOpen()) resolve();
    else track.onOpen(resolve);
  });
}

const tracks = {};
const pc = await connect(tracks);
if (mode === 'publish') {
  const [videoPath, audioPath, seconds] = process.argv.slice(5);
  await Promise.all([waitOpen(tracks.video), waitOpen(tracks.audio)]);
  emit({ connected: true, state: pc.state() });
  const video = new Looper(readStream(videoPath), kVideoSsrc, kVp8, 3000);
  const audio = new Looper(readStream(audioPath), kAudioSsrc, kOpus, 960);
  const sent = { video: 0, audio: 0, frames: 0 };
  const vTimer = setInterval(() => {
    // One whole frame: packets up to and including the marker bit (RFC 7741 §4.1).
    for (;;) {
      const p = video.next();
      tracks.video.sendMessageBinary(p);
      sent.video += 1;
      if (p[1] & 0x80) break;
    }
    sent.frames += 1;
  }, 33);
  const aTimer = setInterval(() => {
    tracks.audio.sendMessageBinary(audio.next());
    sent.audio += 1;
  }, 20);
  setTimeout(() => {
    clearInterval(vTimer);
    clearInterval(aTimer);
    emit({ sent });
    process.exit(0);  // libdatachannel aborts if torn down inside its callbacks
  }, Number(seconds) * 1000);
} else {
  const [seconds] = process.argv.slice(5);
  const got = { video: 0, audio: 0, frames: 0, keyframes: 0, rtcp: 0 };
  const count = (kind) => (msg) => {
    const b = Buffer.from(msg);
    if (b.length < 12 || b[0] >> 6 !== 2) return;
    if (b[1] >= 192 && b[1] <= 223) {  // RTCP (RFC 5761 §4)
      got.rtcp += 1;
      return;
    }
    got[kind] += 1;
    if (kind !== 'video') return;
    const cc = b[0] & 0x0f;
    let off = 12 + 4 * cc;
    if (b[0] & 0x10) off += 4 + 4 * b.readUInt16BE(off + 2);
    // VP8 payload descriptor (RFC 7741 §4.2): X, S, PID; then the payload header's P bit.
    const d = b[off];
    const start = (d & 0x10) && (d & 0x07) === 0;
    let h = off + 1;
    if (d & 0x80) {
      const x = b[h++];
      if (x & 0x80) h += (b[h] & 0x80) ? 2 : 1;
      if (x & 0x40) h += 1;
      if (x & 0x30) h += 1;
    }
    if (start && h < b.length && (b[h] & 0x01) === 0) got.keyframes += 1;
    if (b[1] & 0x80) got.frames += 1;
  };
  tracks.video.onMessage(count('video'));
  tracks.audio.onMessage(count('audio'));
  const timer = setInterval(() => emit({ received: got, state: pc.state() }), 1000);
  setTimeout(() => {
    clearInterval(timer);
    emit({ received: got, state: pc.state(), done: true });
    process.exit(0);
  }, Number(seconds) * 1000);
}
