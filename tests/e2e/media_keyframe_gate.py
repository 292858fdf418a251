#!/usr/bin/python3
"""Keyframe gating: an aiortc publisher sends VP8 for a few seconds (its encoder makes keyframes
only when asked), then an aiortc subscriber joins late. The publisher ignores keyframe requests
for the first two seconds after that (a slow encoder), so delta frames certainly reach the relay
while the subscriber is connected. The first video packet the subscriber receives must still
start a VP8 keyframe (RFC 7741 §4.3: S=1, PID=0, P=0) — the relay holds the delta frames back
and asks again until the keyframe comes — and frames then decode.

Usage: media_keyframe_gate.py <medrelay_media_harness>
"""
import asyncio
import sys
import time

import aiortc.rtcrtpreceiver
import aiortc.rtcrtpsender
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from media_harness import Harness, aiortc_publish, aiortc_subscribe, run, wait_for

BINARY = sys.argv[1]
first_video = []  # payload of the first VP8 packet any subscriber receiver saw

_original = aiortc.rtcrtpreceiver.RTCRtpReceiver._handle_rtp_packet


async def _recording(self, packet, arrival_time_ms):
    if self._RTCRtpReceiver__kind == "video" and not first_video and packet.payload:
        first_video.append(bytes(packet.payload))
    return await _original(self, packet, arrival_time_ms)


ignore_keyframe_requests_until = [0.0]
_send_keyframe = aiortc.rtcrtpsender.RTCRtpSender._send_keyframe


def _slow_send_keyframe(self):
    if time.monotonic() >= ignore_keyframe_requests_until[0]:
        _send_keyframe(self)


aiortc.rtcrtpsender.RTCRtpSender._send_keyframe = _slow_send_keyframe


def vp8_keyframe_start(payload):
    """RFC 7741 §4.2: descriptor (X, I/L/T/K extensions, 7/15-bit PictureID), then the VP8
    payload header whose lowest bit P is 0 on a keyframe; S bit and PID 0 mark a frame start."""
    b0 = payload[0]
    start, pid = bool(b0 & 0x10), b0 & 0x0F
    i = 1
    if b0 & 0x80:
        x = payload[i]
        i += 1
        if x & 0x80:
            i += 2 if payload[i] & 0x80 else 1
        if x & 0x40:
            i += 1
        if x & 0x30:
            i += 1
    return start and pid == 0 and (payload[i] & 0x01) == 0


async def main():
    h = Harness(BINARY, workers=1)
    pcs = []
    try:
        h.admit()
        pub, _ = await aiortc_publish(h, "doctor", [AudioStreamTrack(), VideoStreamTrack()])
        pcs.append(pub)
        await wait_for(lambda: h.total("rtp_in") > 150, 20, "the publisher's media")
        await asyncio.sleep(3)  # mid-stream: the encoder's last keyframe is seconds old
        aiortc.rtcrtpreceiver.RTCRtpReceiver._handle_rtp_packet = _recording
        ignore_keyframe_requests_until[0] = time.monotonic() + 2.0
        sub, counter, _ = await aiortc_subscribe(h, "patient", "?role=doctor")
        pcs.append(sub)
        await wait_for(lambda: counter.frames["video"] >= 20, 30,
                       f"the late subscriber decoding (got {counter.frames})")
        assert first_video, "no video packet recorded"
        assert vp8_keyframe_start(first_video[0]), \
            f"first video packet is not a keyframe start: {first_video[0][:12].hex()}"
        held = h.total("drop_waiting_keyframe")
        assert held > 0, "no delta packet was held back: the test did not exercise the gate"
        print(f"first video packet starts a keyframe; {held} delta packets held back; "
              f"decoded {counter.frames}; PLIs to the publisher {h.total('pli_out')}")
    finally:
        for pc in pcs:
            await pc.close()
        h.close()


run(main)
