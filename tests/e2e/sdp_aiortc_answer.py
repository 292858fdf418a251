#!/usr/bin/python3
"""aiortc 1.4 (python3-aiortc) accepts medrelay's ICE-lite answers to its own live offers.

Usage: sdp_aiortc_answer.py <medrelay_sdp_tool>
For a publish (sendonly), a subscribe (recvonly) and a sendrecv offer: createOffer, feed it to
medrelay_sdp_tool, setRemoteDescription(answer) and check the negotiated directions and codecs.
Runs with Debian's /usr/bin/python3 (the pyenv python on PATH lacks Debian's packages).
"""
import asyncio
import logging
import subprocess
import sys

import aioice.ice

aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

from aiortc import RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack  # noqa: E402

TOOL = sys.argv[1]
# Closing right after the answer leaves aiortc's connect tasks failing; that noise is not ours.
logging.getLogger("asyncio").setLevel(logging.CRITICAL)


def answer_for(offer_sdp, *flags):
    p = subprocess.run([TOOL, *flags], input=offer_sdp.encode(), capture_output=True, timeout=30)
    if p.returncode != 0:
        raise SystemExit(f"medrelay_sdp_tool failed: {p.stderr.decode()}")
    return p.stdout.decode()


async def case(name, direction, flags, want_current):
    pc = RTCPeerConnection()
    try:
        if direction == "recvonly":
            pc.addTransceiver("audio", direction="recvonly")
            pc.addTransceiver("video", direction="recvonly")
        else:
            pc.addTransceiver(AudioStreamTrack(), direction=direction)
            pc.addTransceiver(VideoStreamTrack(), direction=direction)
        await pc.setLocalDescription(await pc.createOffer())
        answer = answer_for(pc.localDescription.sdp, *flags)
        assert "a=ice-lite" in answer.split("m=")[0], "ice-lite must be session-level"
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        assert pc.signalingState == "stable", pc.signalingState
        got = [t.currentDirection for t in pc.getTransceivers()]
        assert got == want_current, f"{name}: currentDirection {got} != {want_current}"
        # aiortc picks the codecs from our answer: exactly opus and VP8 (+ its rtx).
        kinds = [t.kind for t in pc.getTransceivers()]
        assert kinds == ["audio", "video"], kinds
        print(f"aiortc {name}: answer accepted, directions {got}")
    finally:
        await pc.close()


async def main():
    await case("publish", "sendonly", [], ["sendonly", "sendonly"])
    await case("subscribe", "recvonly", ["--send"], ["recvonly", "recvonly"])
    await case("sendrecv", "sendrecv", ["--send"], ["sendrecv", "sendrecv"])
    await case("sendrecv-without-tracks", "sendrecv", [], ["sendonly", "sendonly"])


asyncio.run(main())
