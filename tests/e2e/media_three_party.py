#!/usr/bin/python3
"""Three-party room (d2p_with_n: doctor, patient, nurse) with aiortc: every participant publishes
audio+video and subscribes to the other two; every subscription decodes both kinds. Also the
waiting room (policy rule 6): before admission only the doctor receives (the patient's and
the nurse's subscriptions are held); after /admit the held subscriptions flow.

Usage: media_three_party.py <medrelay_media_harness>
"""
import asyncio
import sys

from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from media_harness import Harness, aiortc_publish, aiortc_subscribe, run, wait_for

BINARY = sys.argv[1]
ROLES = ("doctor", "patient", "nurse")


async def main():
    h = Harness(BINARY, "d2p_with_n", ROLES)
    pcs = []
    try:
        for role in ROLES:
            pc, _ = await aiortc_publish(h, role, [AudioStreamTrack(), VideoStreamTrack()])
            pcs.append(pc)
        subs = {}
        for sub in ROLES:
            for pub in ROLES:
                if pub == sub:
                    continue
                pc, counter, _ = await aiortc_subscribe(
                    h, sub, f"?participant={h.invite_id(pub)}")
                pcs.append(pc)
                subs[(sub, pub)] = counter

        # Waiting room (control::canReceive): only the doctor receives; the patient receives
        # nobody and nobody else receives the patient.
        await wait_for(lambda: subs[("doctor", "patient")].frames["video"] >= 10, 30,
                       f"the doctor sees the waiting patient ({[(k, c.frames) for k, c in subs.items()]},"
                       f" {h.stats()})")
        await asyncio.sleep(1.0)
        for (sub, pub), c in subs.items():
            if sub == "doctor":
                continue
            assert c.frames["video"] == 0 and c.frames["audio"] == 0, \
                f"{sub} received {pub} before admission: {c.frames}"
        print("waiting room: only the doctor receives; the patient's subscriptions are held")

        h.admit()
        for (sub, pub), c in subs.items():
            await wait_for(lambda c=c: c.frames["video"] >= 20 and c.frames["audio"] >= 30, 30,
                           f"{sub} decodes {pub} (got {c.frames})")
        print("after admission every subscriber decodes both others: " +
              ", ".join(f"{s}<-{p} {c.frames}" for (s, p), c in subs.items()))
    finally:
        for pc in pcs:
            await pc.close()
        h.close()


run(main)
