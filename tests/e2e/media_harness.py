"""Shared helpers for the media e2e tests: start medrelay_media_harness (an in-process server with
a room and invites), WHIP/WHEP over plain HTTP, and aiortc publishers/subscribers.

Runs with Debian's /usr/bin/python3 (python3-aiortc). Loopback only.
"""
import asyncio
import json
import logging
import os
import subprocess
import sys
import urllib.error
import urllib.request

import aioice.ice

from medrelay_process import stop

# aiortc/aioice gather loopback only (interop notes).
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

from aiortc import RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.codecs import HEADER_EXTENSIONS  # noqa: E402

# aiortc 1.4 gives abs-send-time id 2 in video, colliding with audio-level id 2 in audio when
# bundled (aiortc issues #745/#770/#778): move it to 3.
HEADER_EXTENSIONS["video"][1].id = 3

logging.getLogger("asyncio").setLevel(logging.CRITICAL)


class Harness:
    def __init__(self, binary, mode="d2p", roles=("doctor", "patient"), workers=None,
                 log_path=None):
        env = dict(os.environ)
        if workers:
            env["MEDRELAY_HARNESS_WORKERS"] = str(workers)
        stderr = subprocess.DEVNULL if not os.environ.get("HARNESS_LOG") else None
        if log_path:
            self.log_file = open(log_path, "wb")
            stderr = self.log_file
        self.proc = subprocess.Popen([binary, mode, *roles], stdout=subprocess.PIPE,
                                     stderr=stderr, env=env)
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit("harness did not start")
        info = json.loads(line)
        self.port = info["http_port"]
        self.room = info["room"]
        self.invites = info["invites"]
        self.base = f"http://127.0.0.1:{self.port}"
        self.access_log_dir = info.get("access_log_dir")

    def token(self, role):
        return self.invites[role]["token"]

    def invite_id(self, role):
        return self.invites[role]["id"]

    def request(self, method, path, body=None, headers=None):
        req = urllib.request.Request(self.base + path, data=body, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=20) as r:
                return r.status, dict(r.headers), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read().decode()

    def stats(self):
        status, _, body = self.request("GET", "/test/stats")
        assert status == 200, body
        return json.loads(body)

    def total(self, key):
        return sum(w[key] for w in self.stats()["workers"])

    def admit(self):
        status, _, body = self.request("POST", "/test/admit")
        assert status == 204, (status, body)

    def close(self):
        stop(self.proc)


async def post_offer(h, kind, role, sdp, query=""):
    """WHIP (kind="whip") or WHEP offer; returns (status, headers, body)."""
    path = f"/v1/rooms/{h.room}/{kind}{query}"
    headers = {"Content-Type": "application/sdp", "Authorization": f"Bearer {h.token(role)}"}
    return await asyncio.get_running_loop().run_in_executor(
        None, lambda: h.request("POST", path, sdp.encode(), headers))


async def aiortc_publish(h, role, tracks):
    pc = RTCPeerConnection()
    for t in tracks:
        pc.addTransceiver(t, direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    status, headers, body = await post_offer(h, "whip", role, pc.localDescription.sdp)
    assert status == 201, f"WHIP {role}: {status} {body}"
    assert headers.get("Location", "").startswith(f"/v1/rooms/{h.room}/sessions/"), headers
    assert headers.get("ETag"), headers
    await pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))
    return pc, headers["Location"]


class FrameCounter:
    def __init__(self):
        self.frames = {"audio": 0, "video": 0}
        self.first_video_at = None
        self.tasks = []

    def attach(self, pc, loop_start):
        @pc.on("track")
        def on_track(track):
            async def consume():
                while True:
                    try:
                        await track.recv()
                    except Exception:
                        return
                    self.frames[track.kind] += 1
                    if track.kind == "video" and self.first_video_at is None:
                        self.first_video_at = asyncio.get_running_loop().time() - loop_start
            self.tasks.append(asyncio.ensure_future(consume()))


async def aiortc_subscribe(h, role, query, expect_status=201):
    pc = RTCPeerConnection()
    pc.addTransceiver("audio", direction="recvonly")
    pc.addTransceiver("video", direction="recvonly")
    counter = FrameCounter()
    counter.attach(pc, asyncio.get_running_loop().time())
    await pc.setLocalDescription(await pc.createOffer())
    status, headers, body = await post_offer(h, "whep", role, pc.localDescription.sdp, query)
    assert status == expect_status, f"WHEP {role}{query}: {status} {body}"
    if status != 201:
        await pc.close()
        return None, None, None
    await pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))
    return pc, counter, headers["Location"]


async def wait_for(pred, timeout, what):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if pred():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def run(main):
    try:
        asyncio.run(main())
    except AssertionError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
