#!/usr/bin/python3
"""node-datachannel 0.33.4 (libdatachannel: AEAD_AES_128_GCM SRTP) against medrelay:
1. it PUBLISHES over WHIP, sending on its Tracks RTP packetized once by GStreamer at test time
   (videotestsrc num-buffers=60 ! vp8enc ! rtpvp8pay, audiotestsrc ! opusenc ! rtpopuspay, both
   RFC 4571-framed to files) and looped as one continuous stream; an aiortc subscriber decodes
   its video and audio frames;
2. it SUBSCRIBES over WHEP to an aiortc publisher and counts RTP packets, VP8 frames and
   keyframes on its Tracks.

Usage: media_node_datachannel.py <medrelay_media_harness>
"""
import asyncio
import json
import os
import shutil
import sys
import tempfile

from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from media_gst_common import Gst
from media_harness import Harness, aiortc_publish, aiortc_subscribe, run, wait_for

BINARY = sys.argv[1]
HERE = os.path.dirname(os.path.abspath(__file__))
NODE = shutil.which("node") or "/usr/bin/node"


def capture(description, path):
    pipe = Gst.parse_launch(f"{description} ! rtpstreampay ! filesink location={path}")
    pipe.set_state(Gst.State.PLAYING)
    msg = pipe.get_bus().timed_pop_filtered(30 * Gst.SECOND,
                                            Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipe.set_state(Gst.State.NULL)
    assert msg and msg.type == Gst.MessageType.EOS, f"capture failed: {description}"
    assert os.path.getsize(path) > 1000, path


class NodePeer:
    def __init__(self, *args):
        self.lines = []
        self.args = args

    async def start(self):
        self.proc = await asyncio.create_subprocess_exec(
            NODE, os.path.join(HERE, "media_ndc_peer.mjs"), *self.args, cwd=HERE,
            stdout=asyncio.subprocess.PIPE)
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self):
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                return
            self.lines.append(json.loads(line))

    def last(self, key):
        for line in reversed(self.lines):
            if key in line:
                return line[key]
        return None

    async def stop(self):
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()


async def node_publishes(h, tmp):
    video, audio = os.path.join(tmp, "v.rtps"), os.path.join(tmp, "a.rtps")
    capture("videotestsrc num-buffers=60 pattern=ball ! "
            "video/x-raw,width=320,height=240,framerate=30/1 ! "
            "vp8enc deadline=1 keyframe-max-dist=30 ! rtpvp8pay mtu=1200", video)
    capture("audiotestsrc num-buffers=100 samplesperbuffer=960 ! audio/x-raw,rate=48000 ! "
            "audioconvert ! opusenc frame-size=20 ! rtpopuspay", audio)
    url = f"{h.base}/v1/rooms/{h.room}/whip"
    node = NodePeer("publish", url, h.token("doctor"), video, audio, "25")
    await node.start()
    sub = None
    try:
        await wait_for(lambda: node.last("connected") or node.proc.returncode is not None, 20,
                       "node-datachannel publisher connects")
        assert node.last("connected"), f"node publisher exited: {node.lines}"
        sub, counter, _ = await aiortc_subscribe(h, "patient", "?role=doctor")
        await wait_for(lambda: counter.frames["video"] >= 30 and counter.frames["audio"] >= 50,
                       40, f"aiortc decodes node-datachannel's frames (got {counter.frames}, "
                       f"rtp_in {h.total('rtp_in')})")
        print(f"aiortc decoded {counter.frames} published by node-datachannel")
    finally:
        if sub:
            await sub.close()
        await node.stop()


async def node_subscribes(h):
    pub, _ = await aiortc_publish(h, "doctor", [AudioStreamTrack(), VideoStreamTrack()])
    url = f"{h.base}/v1/rooms/{h.room}/whep?role=doctor"
    node = NodePeer("subscribe", url, h.token("patient"), "30")
    await node.start()
    try:
        def enough():
            got = node.last("received") or {}
            return (got.get("frames", 0) >= 30 and got.get("audio", 0) >= 50
                    and got.get("keyframes", 0) >= 1)
        await wait_for(lambda: enough() or node.proc.returncode is not None, 40,
                       f"node-datachannel receives RTP ({node.last('received')})")
        assert enough(), f"node-datachannel subscriber: {node.lines[-3:]}"
        print(f"node-datachannel received {node.last('received')} from aiortc")
    finally:
        await node.stop()
        await pub.close()


async def main():
    tmp = tempfile.mkdtemp()
    try:
        h = Harness(BINARY)
        try:
            h.admit()
            await node_publishes(h, tmp)
        finally:
            h.close()
        h = Harness(BINARY)
        try:
            h.admit()
            await node_subscribes(h)
        finally:
            h.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


run(main)
