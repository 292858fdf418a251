#!/usr/bin/python3
"""Link quality the backend can see, against the real binary with aiortc (docs/media.md "Quality
you can see"): while a patient publishes to a doctor, GET /v1/rooms/{id} shows each session's
latest report (bitrate, loss, jitter, RTT, freezes); when the patient hangs up, its
participant_left record carries a summary in numbers (duration, mean bitrate, loss) and nothing
else.

Usage: media_quality_report.py <medrelay>
"""
import asyncio
import json
import sys

from media_harness import FrameCounter, wait_for  # also patches aioice/aiortc for loopback
from medrelay_process import Server

from aiortc import RTCPeerConnection  # noqa: E402
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack  # noqa: E402


async def main():
    server = Server(sys.argv[1], prefix="medrelay-quality-e2e-")
    pcs = []
    try:
        room, tokens = server.create_room()
        doctor_events = server.events(room, tokens["doctor"])
        patient_events = server.events(room, tokens["patient"])
        patient = RTCPeerConnection()
        pcs.append(patient)
        for track in (AudioStreamTrack(), VideoStreamTrack()):
            patient.addTransceiver(track, direction="sendonly")
        published = await server.post_offer(patient, room, "whip", tokens["patient"])
        status, _, body = server.request("POST", f"/v1/rooms/{room}/admit", b"")
        assert status == 200, body

        doctor = RTCPeerConnection()
        pcs.append(doctor)
        doctor.addTransceiver("audio", direction="recvonly")
        doctor.addTransceiver("video", direction="recvonly")
        frames = FrameCounter()
        frames.attach(doctor, asyncio.get_running_loop().time())
        subscribed = await server.post_offer(doctor, room, "whep", tokens["doctor"], "?role=patient")
        await wait_for(lambda: frames.frames["video"] > 30, 20, "the doctor decoding")

        def sessions():
            status, _, body = server.request("GET", f"/v1/rooms/{room}")
            assert status == 200, body
            return {s["id"]: s for s in json.loads(body)["sessions"]}

        def reported():
            s = sessions()
            return all("quality" in s.get(i, {}) for i in (published, subscribed))

        await wait_for(reported, 10, "quality reports on both sessions")
        await asyncio.sleep(2.5)  # one more report interval: a full second of media in each
        s = sessions()
        up, down = s[published]["quality"], s[subscribed]["quality"]
        print(f"publish: {up}\nsubscribe: {down}")
        # aiortc sends flat synthetic frames (tens of kbit/s of VP8) plus Opus silence.
        assert up["bitrate_bps"] > 15_000, up
        assert down["bitrate_bps"] > 15_000, down
        assert up["loss"] < 0.05 and down["loss"] < 0.05, (up, down)
        assert up["freezes"] == 0, up
        for q in (up, down):
            assert set(q) == {"bitrate_bps", "loss", "jitter_ms", "rtt_ms", "estimate_bps",
                              "freezes", "freeze_ms", "at"}, q

        # The room's `quality` events: each participant hears of its own links; the doctor also of
        # the patient's, the patient never of the doctor's.
        def quality_from(events):
            return {e["invite_id"] for e in events if e["type"] == "quality"}

        doctor_id, patient_id = server.invite_ids["doctor"], server.invite_ids["patient"]
        await wait_for(lambda: quality_from(doctor_events) == {doctor_id, patient_id}, 10,
                       "the doctor's quality events")
        assert quality_from(patient_events) == {patient_id}, patient_events
        q = next(e for e in doctor_events if e["type"] == "quality")
        assert "subject" not in q and "session_id" not in q, q
        assert q["direction"] in ("publish", "subscribe") and "bitrate_bps" in q["quality"], q

        # The same reports feed bounded-label histograms, and each connected session its join
        # time.
        assert server.metric("medrelay_link_media_bytes_per_second_count", role="patient",
                             direction="in") >= 1
        assert server.metric("medrelay_link_media_bytes_per_second_count", role="doctor",
                             direction="out") >= 1
        assert server.metric("medrelay_link_rtt_seconds_count", role="doctor") >= 1
        assert server.metric("medrelay_join_duration_seconds_count") == 2

        # The patient hangs up (close_notify): the record sums the session up in numbers.
        await patient.close()
        pcs.remove(patient)

        def left():
            for r in server.access_log():
                if r.get("event") == "participant_left" and r.get("session") == published:
                    return r
            return None

        await wait_for(lambda: left() is not None, 10, "participant_left")
        record = left()
        detail = record["detail"]
        print(f"participant_left: {record['reason']} {detail}")
        assert record["reason"] == "hangup", record
        assert detail["duration_s"] >= 3, detail
        assert detail["bitrate_kbps_mean"] > 15, detail
        assert detail["loss_permille_max"] < 50, detail
        assert set(detail) == {"direction", "duration_s", "bitrate_kbps_mean",
                               "loss_permille_mean", "loss_permille_max", "rtt_ms_max",
                               "freezes", "freeze_ms"}, detail
        print("ok")
    finally:
        for pc in pcs:
            await pc.close()
        server.close()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except AssertionError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
