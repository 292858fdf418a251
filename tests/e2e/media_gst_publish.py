#!/usr/bin/python3
"""GStreamer webrtcbin publishes VP8 + Opus over WHIP into medrelay (bundle-policy max-bundle:
the audio m-line comes at port 0 with a=bundle-only); an aiortc subscriber decodes the video and
audio frames forwarded from it.

Usage: media_gst_publish.py <medrelay_media_harness>
"""
import sys

from media_gst_common import PUBLISH, GstPeer
from media_harness import Harness, aiortc_subscribe, post_offer, run, wait_for

BINARY = sys.argv[1]


async def main():
    h = Harness(BINARY)
    pcs = []
    gst = GstPeer(PUBLISH)
    try:
        h.admit()
        gst.start()
        assert gst.set_sendonly() == 2, "webrtcbin made one transceiver per source"
        offer = gst.offer()
        assert "a=bundle-only" in offer or "m=audio 9" in offer, offer
        status, headers, answer = await post_offer(h, "whip", "doctor", offer)
        assert status == 201, f"WHIP from webrtcbin: {status} {answer}"
        gst.answer(answer)

        sub, counter, _ = await aiortc_subscribe(h, "patient", "?role=doctor")
        pcs.append(sub)
        await wait_for(lambda: counter.frames["video"] >= 30 and counter.frames["audio"] >= 50,
                       40, f"aiortc decodes webrtcbin's frames (got {counter.frames}, "
                       f"rtp_in {h.total('rtp_in')})")
        print(f"aiortc decoded {counter.frames} published by GStreamer webrtcbin; first video "
              f"frame after {counter.first_video_at:.2f}s")
    finally:
        for pc in pcs:
            await pc.close()
        gst.close()
        h.close()


run(main)
