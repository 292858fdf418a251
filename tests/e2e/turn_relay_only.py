#!/usr/bin/python3
"""A relay-only WebRTC client through medrelay's TURN to medrelay's SFU, against the real binary.

The patient publishes audio+video over WHIP with aiortc forced to relay-only (its only local
candidate is the TURN relayed address, and its ICE checks go through the allocation); the doctor
subscribes over WHEP directly and decodes the frames. Asserts that the publisher's nominated pair
is relayed and that medrelay's TURN counters (GET /metrics) rose, and, with the in-process path
on, that the relayed packets took it.

Usage: turn_relay_only.py <medrelay> <udp|tcp> <local_path: on|off>
"""
import asyncio
import json
import sys

import aioice.ice
import aioice.turn

from media_harness import FrameCounter, wait_for  # also patches aioice/aiortc for loopback
from medrelay_process import Server

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection  # noqa: E402
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack  # noqa: E402

BINARY, TRANSPORT, LOCAL_PATH = sys.argv[1], sys.argv[2], sys.argv[3] == "on"

# aiortc 1.4 has no iceTransportPolicy. Relay-only: a connection with a TURN server keeps only
# its relayed candidate, and only the relayed protocol takes part in the checks (the host sockets
# aioice opened stay idle), so every check and every media packet goes through the allocation.
_original_gather = aioice.ice.Connection.get_component_candidates


async def _relay_only_gather(self, component, addresses, timeout=5):
    candidates = await _original_gather(self, component, addresses, timeout)
    if self.turn_server is None:
        return candidates
    self._protocols = [p for p in self._protocols if p.local_candidate.type == "relay"]
    return [c for c in candidates if c.type == "relay"]


aioice.ice.Connection.get_component_candidates = _relay_only_gather

# aioice 0.8's first Allocate is a bare 36 bytes; medrelay's 401 challenge (64 bytes) exceeds the
# 1.6x amplification bound for an unauthenticated UDP answer and is not sent (docs/turn.md).
# Browsers and coturn add SOFTWARE and more; so does this client.
_original_request = aioice.turn.TurnClientMixin.request


async def _request_with_software(self, request):
    request.attributes.setdefault("SOFTWARE", "aioice 0.8 medrelay-e2e")
    return await _original_request(self, request)


aioice.turn.TurnClientMixin.request = _request_with_software


def turn_server():
    return Server(BINARY, ["turn.tcp_listen=127.0.0.1:0",
                           f"turn.local_sfu_path={'true' if LOCAL_PATH else 'false'}"],
                  prefix="medrelay-turn-e2e-")


def nominated_pair(pc):
    """The aioice pair nominated for the (bundled) transport of pc."""
    connection = pc.getTransceivers()[0].sender.transport.transport._connection
    return connection._nominated.get(1)


async def main():
    server = turn_server()
    pcs = []
    try:
        status, _, body = server.request("POST", "/v1/rooms", {
            "mode": "d2p", "scheduled_start": "now", "institution_id": "clinic-1",
            "institution_contact": "03-0000-0000", "doctor_display_name": "Dr. Example"})
        assert status == 201, body
        room = json.loads(body)["id"]
        tokens = {}
        for role, subject in (("doctor", "doctor-1"), ("patient", "patient-7")):
            status, _, body = server.request("POST", f"/v1/rooms/{room}/invites",
                                             {"role": role, "subject": subject})
            assert status == 201, body
            tokens[role] = json.loads(body)["token"]

        status, _, body = server.request("GET", f"/v1/rooms/{room}/ice-servers",
                                         token=tokens["patient"])
        assert status == 200, body
        entry = json.loads(body)["ice_servers"][0]
        urls = [u for u in entry["urls"] if u.startswith("turn:") and
                u.endswith(f"transport={TRANSPORT}")]
        assert urls, f"no turn: URL over {TRANSPORT} in {entry['urls']}"
        ice = RTCIceServer(urls=urls[0], username=entry["username"],
                           credential=entry["credential"])

        relayed_before = server.metric("medrelay_turn_relayed_packets_total", direction="out")
        local_before = server.metric("medrelay_turn_local_path_packets_total")

        # The patient, relay-only through TURN.
        pub = RTCPeerConnection(RTCConfiguration(iceServers=[ice]))
        pcs.append(pub)
        for track in (AudioStreamTrack(), VideoStreamTrack()):
            pub.addTransceiver(track, direction="sendonly")
        await server.post_offer(pub, room, "whip", tokens["patient"])
        assert "typ host" not in pub.localDescription.sdp, "the offer is relay-only"
        assert "typ relay" in pub.localDescription.sdp, pub.localDescription.sdp

        # The doctor, direct.
        sub = RTCPeerConnection()
        pcs.append(sub)
        sub.addTransceiver("audio", direction="recvonly")
        sub.addTransceiver("video", direction="recvonly")
        counter = FrameCounter()
        counter.attach(sub, asyncio.get_running_loop().time())
        await server.post_offer(sub, room, "whep", tokens["doctor"], "?role=patient")

        await wait_for(lambda: counter.frames["video"] >= 30 and counter.frames["audio"] >= 50,
                       40, f"decoded frames (got {counter.frames})")
        pair = nominated_pair(pub)
        assert pair is not None, "publisher has a nominated pair"
        assert pair.local_candidate.type == "relay", f"publisher pair {pair.local_candidate}"
        sub_pair = nominated_pair(sub)
        assert sub_pair is not None and sub_pair.local_candidate.type == "host", sub_pair

        relayed = server.metric("medrelay_turn_relayed_packets_total", direction="out")
        relayed_in = server.metric("medrelay_turn_relayed_packets_total", direction="in")
        local = server.metric("medrelay_turn_local_path_packets_total") - local_before
        assert relayed - relayed_before >= 50, f"relayed client->peer packets: {relayed}"
        assert relayed_in >= 5, f"relayed peer->client packets (ICE, DTLS, RTCP): {relayed_in}"
        # The media plane's own families, scraped from the same live call (observability issue):
        # both sessions completed ICE and DTLS, RTP flowed in and out, and the forwarding latency
        # histogram observed the forwarded packets.
        assert server.metric("medrelay_ice_handshakes_total") >= 2, "ICE handshakes"
        assert server.metric("medrelay_dtls_handshakes_total") >= 2, "DTLS handshakes"
        rtp_in = server.metric("medrelay_media_packets_total", kind="rtp", direction="in")
        rtp_out = server.metric("medrelay_media_packets_total", kind="rtp", direction="out")
        assert rtp_in >= 50 and rtp_out >= 50, f"RTP in {rtp_in}, out {rtp_out}"
        forwarded = server.metric("medrelay_forwarding_latency_seconds_count")
        assert forwarded >= 50, f"forwarding latency observations {forwarded}"
        if LOCAL_PATH:
            assert local >= relayed - relayed_before, f"local path {local}, relayed {relayed}"
        else:
            assert local == 0, f"local path off but {local} packets took it"
        print(f"{TRANSPORT} local_path={LOCAL_PATH}: doctor decoded {counter.frames}; publisher "
              f"pair {pair.local_candidate.type} -> {pair.remote_candidate.host}:"
              f"{pair.remote_candidate.port}; TURN relayed out {relayed - relayed_before:.0f} "
              f"in {relayed_in:.0f}, local path {local:.0f}")
    finally:
        for pc in pcs:
            await pc.close()
        server.close()


try:
    asyncio.run(main())
except AssertionError as e:
    print(f"FAIL: {e}", file=sys.stderr)
    sys.exit(1)
