#!/usr/bin/python3
"""GStreamer webrtcbin subscribes over WHEP (recvonly audio + video) to an aiortc publisher and
decodes its VP8 video and Opus audio (rtpvp8depay ! vp8dec, rtpopusdepay ! opusdec), counting
decoded buffers at a fakesink handoff.

Usage: media_gst_subscribe.py <medrelay_media_harness>
"""
import sys

from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from media_gst_common import GstPeer
from media_harness import Harness, aiortc_publish, post_offer, run, wait_for

BINARY = sys.argv[1]


async def main():
    h = Harness(BINARY)
    pcs = []
    gst = GstPeer("webrtcbin name=w bundle-policy=max-bundle")
    try:
        h.admit()
        pub, _ = await aiortc_publish(h, "doctor", [AudioStreamTrack(), VideoStreamTrack()])
        pcs.append(pub)
        # Video first: webrtcbin bundles on its first m-line. Opus needs its channel count
        # (a=rtpmap:111 OPUS/48000/2, RFC 7587 §7) or the answer rejects the m-line.
        gst.add_recvonly("application/x-rtp,media=video,encoding-name=VP8,payload=96,"
                         "clock-rate=90000")
        gst.add_recvonly("application/x-rtp,media=audio,encoding-name=OPUS,payload=111,"
                         "clock-rate=48000,encoding-params=(string)2")
        gst.start()
        offer = gst.offer()
        status, _, answer = await post_offer(h, "whep", "patient", offer, "?role=doctor")
        assert status == 201, f"WHEP from webrtcbin: {status} {answer}"
        gst.answer(answer)
        await wait_for(lambda: gst.count("video") >= 30 and gst.count("audio") >= 50, 40,
                       f"webrtcbin decodes aiortc's frames (got {gst.frames}, "
                       f"rtp_out {h.total('rtp_out')})")
        print(f"GStreamer webrtcbin decoded {gst.frames} published by aiortc")
    finally:
        for pc in pcs:
            await pc.close()
        gst.close()
        h.close()


run(main)
