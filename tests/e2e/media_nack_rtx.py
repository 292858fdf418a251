#!/usr/bin/python3
"""NACK/RTX through a lossy path: an aiortc subscriber reaches medrelay through a UDP relay on the
client side (ICE-lite answers from where a request came, so the relay sits before the client)
that drops 5% of the RTP going to the subscriber. Frames keep decoding and the server answers the
subscriber's NACKs from its send buffer (retransmission counter rises).

Usage: media_nack_rtx.py <medrelay_media_harness>
"""
import asyncio
import random
import re
import sys

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from media_harness import FrameCounter, Harness, aiortc_publish, post_offer, run, wait_for

BINARY = sys.argv[1]


class LossyRelay:
    """client <-> relay (listen) <-> upstream socket <-> server; drops RTP towards the client."""

    def __init__(self, server_port, loss):
        self.server = ("127.0.0.1", server_port)
        self.loss = loss
        self.client = None
        self.dropped = 0

    async def start(self):
        loop = asyncio.get_running_loop()
        relay = self

        class Down(asyncio.DatagramProtocol):
            def connection_made(self, t):
                relay.down = t

            def datagram_received(self, data, addr):
                relay.client = addr
                relay.up.sendto(data, relay.server)

        class Up(asyncio.DatagramProtocol):
            def connection_made(self, t):
                relay.up = t

            def datagram_received(self, data, addr):
                is_rtp = len(data) > 1 and 128 <= data[0] <= 191 and not 192 <= data[1] <= 223
                if is_rtp and random.random() < relay.loss:
                    relay.dropped += 1
                    return
                if relay.client:
                    relay.down.sendto(data, relay.client)

        await loop.create_datagram_endpoint(Down, local_addr=("127.0.0.1", 0))
        await loop.create_datagram_endpoint(Up, local_addr=("127.0.0.1", 0))
        return relay.down.get_extra_info("sockname")[1]


async def main():
    h = Harness(BINARY, workers=1)
    pcs = []
    try:
        h.admit()
        pub, _ = await aiortc_publish(h, "doctor", [AudioStreamTrack(), VideoStreamTrack()])
        pcs.append(pub)
        relay = LossyRelay(h.stats()["workers"][0]["udp_port"], 0.05)
        relay_port = await relay.start()

        sub = RTCPeerConnection()
        pcs.append(sub)
        sub.addTransceiver("audio", direction="recvonly")
        sub.addTransceiver("video", direction="recvonly")
        counter = FrameCounter()
        counter.attach(sub, asyncio.get_running_loop().time())
        await sub.setLocalDescription(await sub.createOffer())
        s, _, answer = await post_offer(h, "whep", "patient", sub.localDescription.sdp,
                                        "?role=doctor")
        assert s == 201, (s, answer)
        # Point the subscriber at the relay instead of the server's candidate.
        answer = re.sub(r"(a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 )\d+", rf"\g<1>{relay_port}",
                        answer)
        assert f" {relay_port} typ host" in answer, answer
        await sub.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

        await wait_for(lambda: counter.frames["video"] >= 120 and relay.dropped >= 10, 45,
                       f"frames through the lossy relay (got {counter.frames}, "
                       f"dropped {relay.dropped})")
        await wait_for(lambda: h.total("retransmissions") >= 1, 10,
                       "retransmissions answer the subscriber's NACKs")
        print(f"lossy relay dropped {relay.dropped} RTP packets; decoded {counter.frames}; "
              f"server NACKs in {h.total('nacks_in')}, retransmissions {h.total('retransmissions')}")
    finally:
        for pc in pcs:
            await pc.close()
        h.close()


run(main)
