#!/usr/bin/python3
"""Data channels through medrelay with independent SCTP stacks (docs/media.md "Data channels"):
node-datachannel (libdatachannel + usrsctp) and aiortc (its own SCTP in Python) publish over
WHIP with the consultation `chat` channel and exchange messages through the relay.

1. Waiting room (docs/policy.md rule 6): before admission the patient's messages reach the
   doctor, the doctor's do not reach the patient; after admission both ways. The sender label is
   the role. A message that is not a chat envelope is refused with a system notice; one above
   the maximum size is refused and its channel closed (counted). Then the access log and the
   server's log are scanned: the message text is in neither, while participant_left carries the
   session's data channel totals.
2. Negotiated channels (id 1000) both sides; a flood from the doctor is cut by the rate limit
   (counted, a system notice) while an aiortc subscriber keeps decoding the doctor's video.

Usage: datachannel_chat.py <medrelay_media_harness>
"""
import asyncio
import glob
import json
import os
import shutil
import sys
import tempfile

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from media_harness import Harness, aiortc_subscribe, post_offer, run, wait_for

BINARY = sys.argv[1]
HERE = os.path.dirname(os.path.abspath(__file__))
NODE = shutil.which("node") or "/usr/bin/node"
MARKER = "MRCHAT-4f1d9c"  # in every text we send: must appear in no log


def chat(mid, text):
    return json.dumps({"type": "chat", "id": mid, "text": f"{MARKER} {text}"})


class NodeChat:
    def __init__(self, h, role, negotiated=False):
        self.args = [f"{h.base}/v1/rooms/{h.room}/whip", h.token(role)]
        if negotiated:
            self.args.append("negotiated")
        self.lines = []

    async def start(self):
        self.proc = await asyncio.create_subprocess_exec(
            NODE, os.path.join(HERE, "datachannel_ndc_peer.mjs"), *self.args, cwd=HERE,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        self.reader = asyncio.ensure_future(self._read())
        await wait_for(lambda: any("open" in x or "error" in x for x in self.lines), 20,
                       "node-datachannel's chat channel opens")
        assert not any("error" in x for x in self.lines), self.lines

    async def _read(self):
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                return
            self.lines.append(json.loads(line))

    def got(self):
        return [json.loads(x["got"]) for x in self.lines if "got" in x]

    def send(self, text):
        self.proc.stdin.write((json.dumps({"send": text}) + "\n").encode())

    def location(self):
        return next(x["location"] for x in self.lines if "location" in x)

    async def stop(self):
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()


class AiortcChat:
    """An aiortc publisher with the chat channel (and media tracks)."""

    def __init__(self, tracks, negotiated=False, **channel):
        self.pc = RTCPeerConnection()
        for t in tracks:
            self.pc.addTransceiver(t, direction="sendonly")
        if negotiated:
            self.dc = self.pc.createDataChannel("chat", negotiated=True, id=1000, **channel)
        else:
            self.dc = self.pc.createDataChannel("chat", **channel)
        self.messages = []
        self.closed = False
        self.dc.on("message", lambda m: self.messages.append(json.loads(m)))
        self.dc.on("close", lambda: setattr(self, "closed", True))

    async def publish(self, h, role):
        await self.pc.setLocalDescription(await self.pc.createOffer())
        status, headers, body = await post_offer(h, "whip", role, self.pc.localDescription.sdp)
        assert status == 201, f"WHIP {role}: {status} {body}"
        self.location = headers["Location"]
        # aiortc offers the older DTLS/SCTP + a=sctpmap form; the answer keeps it.
        assert "a=sctp-port:5000" in body or "a=sctpmap:5000 webrtc-datachannel" in body, body
        assert "a=max-message-size:65536" in body, body
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))
        await wait_for(lambda: self.dc.readyState == "open", 20, f"aiortc {role} chat opens")

    def chats(self):
        return [m for m in self.messages if m.get("type") == "chat"]

    def notices(self):
        return [m["notice"] for m in self.messages if m.get("type") == "system"]


def stat(h, key):
    return h.total(key)


async def waiting_room_and_privacy(tmp):
    log_path = os.path.join(tmp, "server.log")
    h = Harness(BINARY, log_path=log_path)
    doctor = NodeChat(h, "doctor")
    patient = AiortcChat([AudioStreamTrack()])
    try:
        await doctor.start()
        await patient.publish(h, "patient")
        await wait_for(lambda: stat(h, "sctp_associations") >= 2, 10, "two SCTP associations")

        # Before admission: the patient's message reaches the doctor, labelled with the role.
        patient.dc.send(chat("p1", "patient waits"))
        await wait_for(lambda: doctor.got(), 10, "the doctor receives the waiting patient")
        first = doctor.got()[0]
        assert first == {"type": "chat", "from": "patient", "id": "p1",
                         "text": f"{MARKER} patient waits"}, first

        # The doctor's message reaches no one yet: the relay took it and delivered it nowhere.
        dc_in, dc_out = stat(h, "dc_in"), stat(h, "dc_out")
        doctor.send(chat("d1", "not for the waiting room"))
        await wait_for(lambda: stat(h, "dc_in") == dc_in + 1, 10, "the relay gets d1")
        assert stat(h, "dc_out") == dc_out, "d1 was delivered before admission"

        h.admit()
        doctor.send(chat("d2", "welcome"))
        await wait_for(lambda: patient.chats(), 10, "the admitted patient receives d2")
        # Ordered and reliable: had d1 been delivered it would have come first.
        assert [m["id"] for m in patient.chats()] == ["d2"], patient.messages
        assert patient.chats()[0]["from"] == "doctor"
        patient.dc.send(chat("p2", "thank you"))
        await wait_for(lambda: len(doctor.got()) == 2, 10, "the doctor receives p2")
        print("waiting room: patient→doctor before admission, doctor→patient only after")

        # Not an envelope: refused, counted, and the sender hears why.
        doctor.send("just text")
        await wait_for(lambda: stat(h, "dc_refused_bad_envelope") == 1, 10, "bad_envelope count")
        await wait_for(lambda: any(x.get("notice") == "bad_envelope" for x in doctor.got()), 10,
                       "a bad_envelope notice")
        assert patient.chats()[-1]["id"] == "d2"

        # Above media.datachannel_max_message_size (65536): refused, the channel closed.
        patient.dc.send(chat("big", "x" * 70000))
        await wait_for(lambda: patient.closed, 15, "the oversize sender's channel closes")
        assert stat(h, "dc_refused_too_large") == 1
        assert len(doctor.got()) == 3  # p1, p2 and the notice; not the big one
        print(f"refused: {stat(h, 'dc_refused_bad_envelope')} bad_envelope, "
              f"{stat(h, 'dc_refused_too_large')} too_large (channel closed)")
        # The totals reach the control plane with the 2 s quality reports; a DELETE (hangup)
        # writes participant_left with the last ones.
        await asyncio.sleep(2.5)
        for role, location in (("doctor", doctor.location()), ("patient", patient.location)):
            status, _, body = h.request("DELETE", location,
                                        headers={"Authorization": f"Bearer {h.token(role)}"})
            assert status in (200, 204), (status, body)

        def access_log():
            files = glob.glob(os.path.join(h.access_log_dir, "**", "*"), recursive=True)
            return [open(f, "rb").read() for f in files if os.path.isfile(f)]

        def lefts():
            return [json.loads(line) for blob in access_log()
                    for line in blob.decode(errors="replace").splitlines()
                    if '"participant_left"' in line]
        await wait_for(lambda: len(lefts()) >= 2, 10, "two participant_left records")
        texts = access_log()
        totals = {r["role"]: r["detail"] for r in lefts()}
        # The oversize message is refused by SCTP before it counts as received; notices are not
        # counted as deliveries.
        assert totals["patient"]["dc_messages_in"] == 2, totals  # p1, p2
        assert totals["patient"]["dc_refused"] == 1, totals      # big
        assert totals["patient"]["dc_messages_out"] == 1, totals  # d2
        assert totals["doctor"]["dc_messages_in"] == 3, totals   # d1, d2, "just text"
        assert totals["doctor"]["dc_refused"] == 1, totals       # "just text"
        assert totals["doctor"]["dc_messages_out"] == 2, totals  # p1, p2
    finally:
        await patient.pc.close()
        await doctor.stop()
        h.close()
        h.log_file.close()

    # Nothing of the content anywhere: the access log and the server's log.
    server_log = open(log_path, "rb").read()
    for blob in texts + [server_log]:
        assert MARKER.encode() not in blob, "message text in a log"
        assert b"patient waits" not in blob and b"welcome" not in blob
    print(f"no message text in {len(texts)} access-log files or {len(server_log)} bytes of log; "
          f"participant_left totals: {totals}")


async def negotiated_flood_media(tmp):
    h = Harness(BINARY)
    doctor = AiortcChat([AudioStreamTrack(), VideoStreamTrack()], negotiated=True)
    patient = NodeChat(h, "patient", negotiated=True)
    sub = None
    try:
        h.admit()
        await doctor.publish(h, "doctor")
        await patient.start()
        doctor.dc.send(chat("n1", "negotiated"))
        await wait_for(lambda: patient.got(), 10, "the negotiated channel carries a message")
        assert patient.got()[0]["id"] == "n1" and patient.got()[0]["from"] == "doctor"
        patient.send(chat("n2", "back"))
        await wait_for(lambda: doctor.chats(), 10, "and back")

        sub, counter, _ = await aiortc_subscribe(h, "patient", "?role=doctor")
        await wait_for(lambda: counter.frames["video"] >= 10, 20, "the subscriber decodes video")
        before = counter.frames["video"]
        for i in range(300):
            doctor.dc.send(chat(f"f{i}", "flood"))
        await wait_for(lambda: stat(h, "dc_refused_rate_limited") > 0, 10, "rate_limited counted")
        await wait_for(lambda: "rate_limited" in doctor.notices(), 10, "a rate_limited notice")
        await wait_for(lambda: stat(h, "dc_in") >= 301, 15, "the relay took the flood")
        limited = stat(h, "dc_refused_rate_limited")
        delivered = len(patient.got()) - 1
        assert limited >= 250 and delivered + limited >= 300, (delivered, limited)
        await wait_for(lambda: counter.frames["video"] >= before + 30, 15,
                       "video keeps flowing during and after the flood")
        print(f"flood of 300: {delivered} delivered, {limited} rate_limited; video frames "
              f"{before} -> {counter.frames['video']}")
    finally:
        if sub:
            await sub.close()
        await doctor.pc.close()
        await patient.stop()
        h.close()


async def main():
    tmp = tempfile.mkdtemp()
    try:
        await waiting_room_and_privacy(tmp)
        await negotiated_flood_media(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


run(main)
