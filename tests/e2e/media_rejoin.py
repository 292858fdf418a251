#!/usr/bin/python3
"""A patient whose phone dies rejoins, against the real binary, with aiortc (docs/api.md
"Rejoining", docs/media.md "Session liveness").

Each patient "phone" is a child process (this script with --publisher) publishing audio+video
over WHIP with the same invite; the doctor subscribes in this process and counts decoded frames.
  1. Phone 1 is SIGKILLed mid-call; phone 2 joins at once, waits as the 409 tells it
     (retry_after_ms) and takes the session over: the doctor decodes again within a few seconds,
     and the access log ends phone 1's session with `takeover`.
  2. Phone 2 stops its RFC 7675 consent checks while its media keeps flowing: its session goes
     stale and phone 3 takes it over (`takeover`).
  3. Phone 3 closes its peer connection (DTLS close_notify, no DELETE): `hangup`.
  4. On a relay with a 3 s consent timeout, phone 4 is SIGKILLed and nobody rejoins:
     `consent-timeout`.

Usage: media_rejoin.py <medrelay>
       media_rejoin.py --publisher <base> <room> <token> [--stop-consent-after S]
"""
import asyncio
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

from media_harness import FrameCounter, wait_for  # also patches aioice/aiortc for loopback
from medrelay_process import Server

from aiortc import RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack  # noqa: E402


def say(**event):
    print(json.dumps(event), flush=True)


def post_whip(base, room, token, sdp):
    req = urllib.request.Request(f"{base}/v1/rooms/{room}/whip", data=sdp.encode(), method="POST",
                                 headers={"Authorization": f"Bearer {token}",
                                          "Content-Type": "application/sdp"})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


async def publisher(base, room, token, stop_consent_after):
    """One phone: publishes, retrying as a 409 already_connected says; SIGTERM closes the peer
    connection (close_notify) and exits."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    refusals = []
    for _ in range(8):
        pc = RTCPeerConnection()
        for track in (AudioStreamTrack(), VideoStreamTrack()):
            pc.addTransceiver(track, direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        status, headers, body = await loop.run_in_executor(
            None, lambda: post_whip(base, room, token, pc.localDescription.sdp))
        if status == 201:
            break
        await pc.close()
        assert status == 409 and json.loads(body)["code"] == "already_connected", (status, body)
        info = json.loads(body)
        assert int(headers["Retry-After"]) * 1000 >= info["retry_after_ms"], (headers, body)
        refusals.append(info["retry_after_ms"])
        await asyncio.sleep(info["retry_after_ms"] / 1000)
    assert status == 201, f"no takeover after {len(refusals)} refusals: {status} {body}"
    await pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))
    say(event="published", session=headers["Location"].rsplit("/", 1)[1], refusals=refusals)
    await wait_for(lambda: pc.iceConnectionState == "completed", 10, "ICE")
    say(event="connected")
    if stop_consent_after is not None:
        await asyncio.sleep(stop_consent_after)
        connection = pc.getTransceivers()[0].sender.transport.transport._connection
        connection._query_consent_handle.cancel()  # media flows on; consent checks stop
        say(event="consent_stopped")
    await stop.wait()
    await pc.close()  # DTLS close_notify (RFC 5246 §7.2.1)
    say(event="closed")


class Phone:
    """A publisher child process; its JSON lines are read with expect()."""

    def __init__(self, server, room, token, *extra):
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--publisher", server.base, room, token, *extra],
            stdout=subprocess.PIPE, text=True)
        self.started = time.monotonic()

    async def expect(self, event, timeout=20):
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while loop.time() < end:
            line = await asyncio.wait_for(loop.run_in_executor(None, self.proc.stdout.readline),
                                          end - loop.time())
            if not line:
                raise AssertionError(f"phone exited ({self.proc.wait()}) before {event}")
            msg = json.loads(line)
            if msg["event"] == event:
                return msg
        raise AssertionError(f"timed out waiting for the phone's {event}")

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def terminate(self):
        self.proc.terminate()


def left_reason(server, session):
    for r in server.access_log():
        if r.get("event") == "participant_left" and r.get("session") == session:
            return r.get("reason")
    return None


async def wait_left(server, session, timeout):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        reason = await loop.run_in_executor(None, left_reason, server, session)
        if reason:
            return reason
        await asyncio.sleep(0.2)
    raise AssertionError(f"session {session} never ended")


async def doctor_watching(server, room, token):
    pc = RTCPeerConnection()
    pc.addTransceiver("audio", direction="recvonly")
    pc.addTransceiver("video", direction="recvonly")
    counter = FrameCounter()
    counter.attach(pc, asyncio.get_running_loop().time())
    await server.post_offer(pc, room, "whep", token, "?role=patient")
    return pc, counter


async def takeovers(binary):
    server = Server(binary, ["media.consent_timeout_ms=20000"], prefix="medrelay-rejoin-e2e-")
    pcs, phones = [], []
    try:
        room, tokens = server.create_room()
        doctor, frames = await doctor_watching(server, room, tokens["doctor"])
        pcs.append(doctor)

        phone1 = Phone(server, room, tokens["patient"])
        phones.append(phone1)
        s1 = (await phone1.expect("published"))["session"]
        status, _, body = server.request("POST", f"/v1/rooms/{room}/admit", b"")
        assert status == 200, body
        await wait_for(lambda: frames.frames["video"] > 10, 15, "the doctor decoding phone 1")

        # 1. The phone dies; the patient opens the link again at once.
        phone1.kill()
        killed = time.monotonic()
        before = frames.frames["video"]
        phone2 = Phone(server, room, tokens["patient"], "--stop-consent-after", "1")
        phones.append(phone2)
        p2 = await phone2.expect("published")
        assert p2["refusals"], "phone 1's session was still fresh: the first try must be a 409"
        await wait_for(lambda: frames.frames["video"] > before + 5, 10, "the doctor decoding phone 2")
        back = time.monotonic() - killed
        print(f"phone 2: {len(p2['refusals'])} refusal(s) {p2['refusals']} ms, doctor decodes "
              f"again {back:.2f} s after the kill")
        assert back < 6, f"rejoin took {back:.2f} s"
        assert await wait_left(server, s1, 5) == "takeover"

        # 2. Phone 2's media flows on but its consent checks stop: stale after 2/5 of the
        # consent timeout, taken over by phone 3.
        await phone2.expect("consent_stopped")
        phone3 = Phone(server, room, tokens["patient"])
        phones.append(phone3)
        p3 = await phone3.expect("published", timeout=30)
        assert p3["refusals"], "phone 2 was stale before its consent checks stopped"
        assert await wait_left(server, p2["session"], 5) == "takeover"
        before = frames.frames["video"]
        await wait_for(lambda: frames.frames["video"] > before + 5, 10, "the doctor decoding phone 3")

        # 3. Phone 3 hangs up by closing its peer connection: close_notify, no DELETE.
        await phone3.expect("connected")
        phone3.terminate()
        await phone3.expect("closed")
        assert await wait_left(server, p3["session"], 5) == "hangup"
    finally:
        for p in phones:
            p.kill()
        for pc in pcs:
            await pc.close()
        server.close()


async def consent_timeout(binary):
    server = Server(binary, ["media.consent_timeout_ms=3000"], prefix="medrelay-rejoin-e2e-")
    phone = None
    try:
        room, tokens = server.create_room()
        phone = Phone(server, room, tokens["patient"])
        session = (await phone.expect("published"))["session"]
        await phone.expect("connected")
        phone.kill()  # well inside aioice's first consent interval (4-6 s)
        assert await wait_left(server, session, 10) == "consent-timeout"
    finally:
        if phone:
            phone.kill()
        server.close()


async def main():
    await takeovers(sys.argv[1])
    await consent_timeout(sys.argv[1])
    print("ok")


if __name__ == "__main__":
    try:
        if sys.argv[1] == "--publisher":
            stop_after = None
            if "--stop-consent-after" in sys.argv:
                stop_after = float(sys.argv[sys.argv.index("--stop-consent-after") + 1])
            asyncio.run(publisher(sys.argv[2], sys.argv[3], sys.argv[4], stop_after))
        else:
            asyncio.run(main())
    except AssertionError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
