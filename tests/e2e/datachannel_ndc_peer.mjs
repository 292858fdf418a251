// node-datachannel 0.33.4 (libdatachannel's usrsctp) as a WHIP publisher of medrelay with one
// Opus audio m-line and the consultation chat data channel, driven by datachannel_chat.py.
//
// datachannel_ndc_peer.mjs <whip-url> <token> [negotiated]
//   Opens `chat` (by DCEP, or negotiated on stream 1000 with `negotiated`), prints
//   {"open": true} once it is open, every message it receives as {"got": <text>}, and
//   {"closed": true} when the channel closes. Reads JSON lines on stdin: {"send": <text>} sends
//   one string message.
import readline from 'readline';
import ndc from 'node-datachannel';

const [url, token, how] = process.argv.slice(2);

function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

const pc = new ndc.PeerConnection('chat', {
  iceServers: [], bindAddress: '127.0.0.1', disableAutoNegotiation: true,
});
const audio = new ndc.Audio('0', 'SendOnly');
audio.addOpusCodec(111);
audio.addSSRC(1111, 'ndc-cname', 'ndc-stream', 'ndc-audio');
pc.addTrack(audio);
const dc = how === 'negotiated'
  ? pc.createDataChannel('chat', { negotiated: true, id: 1000 })
  : pc.createDataChannel('chat');
dc.onOpen(() => emit({ open: true }));
dc.onMessage((msg) => emit({ got: typeof msg === 'string' ? msg : Buffer.from(msg).toString() }));
dc.onClosed(() => emit({ closed: true }));

pc.onGatheringStateChange(async (state) => {
  if (state !== 'complete') return;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${token}` },
    body: pc.localDescription().sdp,
  });
  const answer = await res.text();
  if (res.status !== 201) {
    emit({ error: `HTTP ${res.status} ${answer}` });
    process.exit(1);
  }
  pc.setRemoteDescription(answer, 'answer');
  emit({ location: res.headers.get('location') });
});
pc.setLocalDescription();

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line);
  if (cmd.send !== undefined) dc.sendMessage(cmd.send);
  if (cmd.exit) process.exit(0);
});
