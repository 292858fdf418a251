#!/usr/bin/python3
"""Refusals and robustness of the WHIP/WHEP signalling and the media path:
- no token → 401, an unknown token → the policy's refusal, garbage SDP → 400, wrong
  Content-Type → 415, a WHEP without a target → 400;
- a wrong DTLS fingerprint in the offer → the handshake is refused and no media flows;
- PATCH: ICE restart without If-Match → 428, a stale ETag → 412, trickle → 204;
- DELETE with another invite's token → 403; with its own → 200 and the session is gone.

Usage: media_security.py <medrelay_media_harness>
"""
import asyncio
import re
import sys

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from media_harness import Harness, aiortc_publish, post_offer, run, wait_for

BINARY = sys.argv[1]


async def main():
    h = Harness(BINARY)
    pcs = []
    try:
        room = h.room
        offer_pc = RTCPeerConnection()
        pcs.append(offer_pc)
        offer_pc.addTransceiver(VideoStreamTrack(), direction="sendonly")
        await offer_pc.setLocalDescription(await offer_pc.createOffer())
        offer = offer_pc.localDescription.sdp

        s, hd, _ = h.request("POST", f"/v1/rooms/{room}/whip", offer.encode(),
                             {"Content-Type": "application/sdp"})
        assert s == 401 and hd.get("WWW-Authenticate") == "Bearer", s
        s, _, body = h.request("POST", f"/v1/rooms/{room}/whip", offer.encode(),
                               {"Content-Type": "application/sdp",
                                "Authorization": "Bearer not-a-token"})
        assert s in (401, 403), (s, body)
        s, _, body = h.request("POST", f"/v1/rooms/{room}/whip", b"hello world",
                               {"Content-Type": "application/sdp",
                                "Authorization": f"Bearer {h.token('doctor')}"})
        assert s == 400 and "sdp_" in body, (s, body)
        s, _, _ = h.request("POST", f"/v1/rooms/{room}/whip", offer.encode(),
                            {"Content-Type": "text/plain",
                             "Authorization": f"Bearer {h.token('doctor')}"})
        assert s == 415, s
        s, _, body = h.request("POST", f"/v1/rooms/{room}/whep", offer.encode(),
                               {"Content-Type": "application/sdp",
                                "Authorization": f"Bearer {h.token('patient')}"})
        assert s == 400 and "target_required" in body, (s, body)
        print("signalling refusals: 401, policy refusal, 400 garbage SDP, 415, 400 no target")

        # Wrong fingerprint: flip one hex digit of a=fingerprint in a real offer.
        bad = RTCPeerConnection()
        pcs.append(bad)
        bad.addTransceiver(VideoStreamTrack(), direction="sendonly")
        await bad.setLocalDescription(await bad.createOffer())
        sdp = bad.localDescription.sdp
        m = re.search(r"a=fingerprint:sha-256 ([0-9A-F])", sdp)
        flipped = "0" if m.group(1) != "0" else "1"
        sdp = sdp[:m.start(1)] + flipped + sdp[m.end(1):]
        s, hd, body = await post_offer(h, "whip", "doctor", sdp)
        assert s == 201, (s, body)
        await bad.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))
        await wait_for(lambda: h.total("dtls_fingerprint_failures") >= 1, 20,
                       "the server refuses the handshake for the wrong fingerprint")
        assert h.total("dtls_ok") == 0, "no DTLS association may succeed"
        await wait_for(lambda: h.total("sessions") == 0, 10, "the failed session is removed")
        print("wrong fingerprint: handshake refused, session ended")
        await bad.close()

        # A good publish; then PATCH and DELETE rules.
        pc, location = await aiortc_publish(h, "doctor", [AudioStreamTrack(), VideoStreamTrack()])
        pcs.append(pc)
        await wait_for(lambda: h.total("dtls_ok") >= 1, 20, "DTLS with the right fingerprint")
        auth = {"Authorization": f"Bearer {h.token('doctor')}"}
        frag = "a=ice-ufrag:newU\r\na=ice-pwd:newpasswordnewpassword12\r\n"
        s, _, _ = h.request("PATCH", location, frag.encode(),
                            {**auth, "Content-Type": "application/trickle-ice-sdpfrag"})
        assert s == 428, s
        s, _, _ = h.request("PATCH", location, frag.encode(),
                            {**auth, "Content-Type": "application/trickle-ice-sdpfrag",
                             "If-Match": '"stale"'})
        assert s == 412, s
        s, _, _ = h.request("PATCH", location, b"a=end-of-candidates\r\n",
                            {**auth, "Content-Type": "application/trickle-ice-sdpfrag"})
        assert s == 204, s
        s, hd, body = h.request("PATCH", location, frag.encode(),
                                {**auth, "Content-Type": "application/trickle-ice-sdpfrag",
                                 "If-Match": "*"})
        assert s == 200 and "a=ice-ufrag:" in body and hd.get("ETag"), (s, body)
        s, _, _ = h.request("DELETE", location,
                            headers={"Authorization": f"Bearer {h.token('patient')}"})
        assert s == 403, s
        s, _, _ = h.request("DELETE", location, headers=auth)
        assert s == 200, s
        await wait_for(lambda: h.total("sessions") == 0, 5, "DELETE removes the session")
        s, _, _ = h.request("DELETE", location, headers=auth)
        assert s == 404, s
        print("PATCH 428/412/204/200 (ICE restart), DELETE 403/200/404")
    finally:
        for pc in pcs:
            await pc.close()
        h.close()


run(main)
