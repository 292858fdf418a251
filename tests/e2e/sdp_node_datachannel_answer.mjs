// node-datachannel 0.33.4 (libdatachannel) accepts medrelay's ICE-lite answers to its own live
// offers: audio+video tracks sendonly (WHIP), recvonly (WHEP, answered with our SSRCs), and a
// data-channel-only offer (answered with --datachannels).
// Auto-negotiation is off so each peer makes exactly one offer (with it on, libdatachannel may
// replace the offer after gathering and the answer no longer matches).
// Usage: node sdp_node_datachannel_answer.mjs <medrelay_sdp_tool>
import { spawnSync } from 'child_process';
import ndc from 'node-datachannel';

const tool = process.argv[2];

function answerFor(offer, flags) {
  const p = spawnSync(tool, flags, { input: offer, timeout: 30000 });
  if (p.status !== 0) throw new Error(`medrelay_sdp_tool failed: ${p.stderr}`);
  return p.stdout.toString();
}

function offerFrom(name, setup) {
  return new Promise((resolve, reject) => {
    const pc = new ndc.PeerConnection(name, {
      iceServers: [], bindAddress: '127.0.0.1', disableAutoNegotiation: true,
    });
    const timer = setTimeout(() => reject(new Error(`${name}: no offer`)), 10000);
    pc.onGatheringStateChange((state) => {
      if (state === 'complete') {
        clearTimeout(timer);
        resolve({ pc, sdp: pc.localDescription().sdp });
      }
    });
    setup(pc);
  });
}

function addTracks(pc, dir) {
  const audio = new ndc.Audio('0', dir);
  audio.addOpusCodec(111);
  if (dir !== 'RecvOnly') audio.addSSRC(1111, 'ndc-cname', 'ndc-stream', 'ndc-audio');
  const video = new ndc.Video('1', dir);
  video.addVP8Codec(96);
  video.addRTXCodec(97, 96, 90000);
  video.addH264Codec(102);
  if (dir !== 'RecvOnly') video.addSSRC(2222, 'ndc-cname', 'ndc-stream', 'ndc-video');
  return [pc.addTrack(audio), pc.addTrack(video)];
}

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

const cases = [
  { name: 'publish', flags: [], dir: 'SendOnly', want: 'recvonly' },
  { name: 'subscribe', flags: ['--send'], dir: 'RecvOnly', want: 'sendonly' },
  { name: 'datachannel', flags: ['--datachannels'], dc: true },
];
const peers = [];
for (const c of cases) {
  const { pc, sdp } = await offerFrom(c.name, (p) => {
    if (c.dc) {
      p.createDataChannel('chat');
    } else {
      addTracks(p, c.dir);
    }
    p.setLocalDescription();
  });
  peers.push(pc);
  const answer = answerFor(sdp, c.flags);
  if (c.name === 'publish') {
    // Control: the same answer without our fingerprint must be refused, so acceptance below
    // means libdatachannel really validated our answer.
    const { pc: ctl, sdp: ctlOffer } = await offerFrom('control', (p) => {
      addTracks(p, c.dir);
      p.setLocalDescription();
    });
    peers.push(ctl);
    const bad = answerFor(ctlOffer, c.flags).replace(/a=fingerprint:[^\r]*\r\n/g, '');
    let refused = false;
    try {
      ctl.setRemoteDescription(bad, 'answer');
    } catch {
      refused = true;
    }
    check(refused, 'control: an answer without a=fingerprint was accepted');
  }
  check(/^a=ice-lite\r$/m.test(answer.split('m=')[0]), `${c.name}: ice-lite not session-level`);
  pc.setRemoteDescription(answer, 'answer');  // throws if libdatachannel rejects it
  // libdatachannel updates the state on its own thread: give it a moment.
  for (let i = 0; i < 100 && pc.signalingState() !== 'stable'; ++i) {
    await new Promise((r) => setTimeout(r, 20));
  }
  check(pc.signalingState() === 'stable', `${c.name}: signalingState ${pc.signalingState()}`);
  const remote = pc.remoteDescription();
  check(remote && remote.type === 'answer', `${c.name}: no remote answer`);
  if (c.dc) {
    check(/a=sctp-port:5000/.test(remote.sdp), `${c.name}: no sctp-port in remote description`);
  } else {
    check((remote.sdp.match(new RegExp(`a=${c.want}`, 'g')) || []).length === 2,
      `${c.name}: expected two a=${c.want} m-lines`);
  }
  console.log(`node-datachannel ${c.name}: answer accepted`);
}
// libdatachannel aborts if torn down inside its callbacks; exit without cleanup.
process.exit(0);
