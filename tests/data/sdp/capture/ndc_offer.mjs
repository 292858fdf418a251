// Prints a node-datachannel 0.33.4 offer after gathering: "av" (Opus + VP8/H264 sendonly tracks)
// or "datachannel" (one data channel).
import { createRequire } from 'module';
const require = createRequire(process.cwd() + '/');
const ndc = require('node-datachannel');
const mode = process.argv[2];
const pc = new ndc.PeerConnection('offerer', { iceServers: [], bindAddress: '127.0.0.1' });
pc.onGatheringStateChange((state) => {
  if (state === 'complete') {
    process.stdout.write(pc.localDescription().sdp);
    setTimeout(() => { pc.close(); ndc.cleanup(); process.exit(0); }, 10);
  }
});
if (mode === 'av') {
  const audio = new ndc.Audio('0', 'SendOnly');
  audio.addOpusCodec(111);
  audio.addSSRC(1111, 'ndc-cname', 'ndc-stream', 'ndc-audio');
  pc.addTrack(audio);
  const video = new ndc.Video('1', 'SendOnly');
  video.addVP8Codec(96);
  video.addRTXCodec(97, 96, 90000);
  video.addH264Codec(102);
  video.addSSRC(2222, 'ndc-cname', 'ndc-stream', 'ndc-video');
  pc.addTrack(video);
  pc.setLocalDescription();
} else {
  pc.createDataChannel('chat');
}
