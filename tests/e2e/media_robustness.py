#!/usr/bin/python3
"""Drops on the real media port, each counted and read back through /test/stats:
- a replayed SRTP packet: an aiortc publisher reaches medrelay through a UDP relay (same idea as
  media_nack_rtx.py) that copies one of its SRTP packets and sends it again on the same 5-tuple
  after the stream has moved on → dropped by the replay check (RFC 3711 §3.3.2), srtp_replay
  rises, and the session keeps working;
- an unknown 5-tuple: a plain UDP socket sends RTP-looking bytes → drop_unknown_tuple rises and
  nothing comes back;
- a STUN Binding request with the session's username but MESSAGE-INTEGRITY keyed with a wrong
  password → no success response (silence or a 401 error, RFC 8489 §9.1.3), drop_ice_rejected
  rises; the same request with the right password is answered.

Usage: media_robustness.py <medrelay_media_harness>
"""
import asyncio
import re
import socket
import sys

from aioice import stun
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from media_harness import Harness, aiortc_subscribe, post_offer, run, wait_for

BINARY = sys.argv[1]


class CapturingRelay:
    """publisher <-> relay <-> server; keeps the 50th SRTP packet the publisher sends."""

    def __init__(self, server_port):
        self.server = ("127.0.0.1", server_port)
        self.client = None
        self.rtp_seen = 0
        self.captured = None

    async def start(self):
        loop = asyncio.get_running_loop()
        relay = self

        class Down(asyncio.DatagramProtocol):
            def connection_made(self, t):
                relay.down = t

            def datagram_received(self, data, addr):
                relay.client = addr
                is_rtp = len(data) > 12 and 128 <= data[0] <= 191 and not 192 <= data[1] <= 223
                if is_rtp:
                    relay.rtp_seen += 1
                    if relay.rtp_seen == 50:
                        relay.captured = bytes(data)
                relay.up.sendto(data, relay.server)

        class Up(asyncio.DatagramProtocol):
            def connection_made(self, t):
                relay.up = t

            def datagram_received(self, data, addr):
                if relay.client:
                    relay.down.sendto(data, relay.client)

        await loop.create_datagram_endpoint(Down, local_addr=("127.0.0.1", 0))
        await loop.create_datagram_endpoint(Up, local_addr=("127.0.0.1", 0))
        return relay.down.get_extra_info("sockname")[1]

    def replay(self):
        self.up.sendto(self.captured, self.server)


def binding_request(username, password):
    msg = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    msg.attributes["USERNAME"] = username
    msg.attributes["PRIORITY"] = 1853824767
    msg.attributes["ICE-CONTROLLING"] = 0x1234567890
    msg.attributes["USE-CANDIDATE"] = None
    msg.add_message_integrity(password.encode())  # and FINGERPRINT
    return bytes(msg)


def udp_exchange(port, data, timeout=1.0):
    """Sends one datagram from a fresh socket; returns the reply or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(timeout)
    try:
        s.sendto(data, ("127.0.0.1", port))
        return s.recv(2048)
    except socket.timeout:
        return None
    finally:
        s.close()


async def main():
    h = Harness(BINARY, workers=1)
    pcs = []
    try:
        h.admit()
        port = h.stats()["workers"][0]["udp_port"]
        relay = CapturingRelay(port)
        relay_port = await relay.start()

        pub = RTCPeerConnection()
        pcs.append(pub)
        pub.addTransceiver(AudioStreamTrack(), direction="sendonly")
        pub.addTransceiver(VideoStreamTrack(), direction="sendonly")
        await pub.setLocalDescription(await pub.createOffer())
        offer = pub.localDescription.sdp
        s, _, answer = await post_offer(h, "whip", "doctor", offer)
        assert s == 201, (s, answer)
        server_ufrag = re.search(r"a=ice-ufrag:(\S+)", answer).group(1)
        server_pwd = re.search(r"a=ice-pwd:(\S+)", answer).group(1)
        client_ufrag = re.search(r"a=ice-ufrag:(\S+)", offer).group(1)
        answer = re.sub(r"(a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 )\d+", rf"\g<1>{relay_port}",
                        answer)
        await pub.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        sub, counter, _ = await aiortc_subscribe(h, "patient", "?role=doctor")
        pcs.append(sub)
        await wait_for(lambda: relay.captured is not None and counter.frames["video"] >= 10, 30,
                       f"publisher media through the relay (rtp {relay.rtp_seen})")

        # 1. Replay: same 5-tuple, authentic packet, already-seen index.
        before = h.total("srtp_replay")
        for _ in range(3):
            relay.replay()
        await wait_for(lambda: h.total("srtp_replay") >= before + 3, 5,
                       f"replays counted (srtp_replay {h.total('srtp_replay')})")
        frames = counter.frames["video"]
        await wait_for(lambda: counter.frames["video"] >= frames + 10, 10,
                       "the session keeps forwarding after the replays")

        # 2. Unknown 5-tuple: RTP-looking bytes from a socket that never did ICE.
        before = h.total("drop_unknown_tuple")
        rtp = bytes([0x80, 0x60, 0x00, 0x01]) + bytes(8) + bytes(100)
        assert udp_exchange(port, rtp, 0.5) is None, "an unknown tuple got a reply"
        await wait_for(lambda: h.total("drop_unknown_tuple") >= before + 1, 5,
                       "unknown tuple counted")

        # 3. ICE: a wrong password gets no response; the right one does (control).
        username = f"{server_ufrag}:{client_ufrag}"
        before = h.total("drop_ice_rejected")
        wrong = binding_request(username, "x" * len(server_pwd))
        reply = reply_wrong = udp_exchange(port, wrong)
        if reply is not None:  # RFC 8489 §9.1.3: a 401 error response is allowed, success never
            parsed = stun.parse_message(reply)
            assert parsed.message_class == stun.Class.ERROR, f"wrong password answered: {parsed}"
            assert parsed.attributes["ERROR-CODE"][0] == 401, parsed
        await wait_for(lambda: h.total("drop_ice_rejected") >= before + 1, 5,
                       "wrong-password check counted")
        reply = udp_exchange(port, binding_request(username, server_pwd))
        assert reply is not None, "a check with the right password got no response"
        parsed = stun.parse_message(reply)
        assert parsed.message_class == stun.Class.RESPONSE, parsed
        print(f"wrong-password check answered with {'401' if reply_wrong else 'silence'}; "
              f"replays dropped {h.total('srtp_replay')}, unknown tuples "
              f"{h.total('drop_unknown_tuple')}, rejected checks {h.total('drop_ice_rejected')}")
    finally:
        for pc in pcs:
            await pc.close()
        h.close()


run(main)
