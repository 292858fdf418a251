#!/usr/bin/python3
"""aiortc publishes audio+video over WHIP into medrelay; another aiortc subscribes over WHEP to
that participant and decodes frames of both kinds (real ICE-lite, DTLS, SRTP, forwarding).

Usage: media_aiortc.py <medrelay_media_harness>
"""
import sys

from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from media_harness import Harness, aiortc_publish, aiortc_subscribe, run, wait_for

BINARY = sys.argv[1]


async def main():
    h = Harness(BINARY)
    pcs = []
    try:
        h.admit()  # the consultation runs: the patient may receive the doctor
        pub, _ = await aiortc_publish(h, "doctor", [AudioStreamTrack(), VideoStreamTrack()])
        pcs.append(pub)
        sub, counter, location = await aiortc_subscribe(h, "patient", "?role=doctor")
        pcs.append(sub)
        await wait_for(lambda: counter.frames["video"] >= 30 and counter.frames["audio"] >= 50,
                       30, f"decoded frames (got {counter.frames})")
        print(f"patient decoded {counter.frames} from the doctor; first video frame after "
              f"{counter.first_video_at:.2f}s")
        assert h.total("pli_out") >= 1, "a keyframe request goes to the publisher on subscribe"
        # DELETE ends the subscription (hangup).
        status, _, _ = h.request("DELETE", location,
                                 headers={"Authorization": f"Bearer {h.token('patient')}"})
        assert status == 200, status
    finally:
        for pc in pcs:
            await pc.close()
        h.close()


run(main)
