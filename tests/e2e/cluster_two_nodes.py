#!/usr/bin/python3
"""Two medrelay nodes on one real redis-server (docs/cluster.md), loopback, real processes:

  1. One doctor goes live on both nodes at once, in a room on each: exactly one join wins, the
     other is 409 doctor_busy, and only the loser's node's access log names the other room
     (repeated; the lease is released between rounds).
  2. A patient's WHIP reaches the wrong node: 307 with an absolute Location on the room's node
     carrying a sealed ticket; re-posted there without Authorization (as a browser does on a
     cross-origin redirect) it is 201, the resource Location names the room's node, and the
     doctor decodes the patient's media (aiortc).
  3. Redis is killed mid-call: /healthz stays 200, /readyz goes 503, the call keeps decoding, a new
     join is 503 with Retry-After; Redis comes back (empty): the node re-registers, re-takes its
     room and lease, and joins work again.

Usage: cluster_two_nodes.py <medrelay> [rounds]
"""
import asyncio
import concurrent.futures
import json
import sys
import urllib.error
import urllib.request

from media_harness import FrameCounter, wait_for  # also patches aioice/aiortc for loopback
from medrelay_process import Server
from redis_process import RedisServer, cluster_settings, free_port, write_secret

from aiortc import RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack  # noqa: E402

PREFIX = "e2e"


def post(url, body, token=None, content_type="application/sdp"):
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


async def offer_sdp():
    pc = RTCPeerConnection()
    for track in (AudioStreamTrack(), VideoStreamTrack()):
        pc.addTransceiver(track, direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp.encode()


def lease_key(subject):
    return "{%s}:doctor:%s" % (PREFIX, subject)


async def concurrent_go_live(redis, a, b, rounds):
    """Rule 3 across nodes: the same doctor subject in a room on each node, both joins at once."""
    room_a, tok_a = a.create_room(roles=(("doctor", "dr-race"),))
    room_b, tok_b = b.create_room(roles=(("doctor", "dr-race"),))
    sdp = await offer_sdp()
    wins = {"a": 0, "b": 0}
    pool = concurrent.futures.ThreadPoolExecutor(2)
    loop = asyncio.get_running_loop()
    for i in range(rounds):
        fa = loop.run_in_executor(pool, post, f"{a.base}/v1/rooms/{room_a}/whip", sdp,
                                  tok_a["doctor"])
        fb = loop.run_in_executor(pool, post, f"{b.base}/v1/rooms/{room_b}/whip", sdp,
                                  tok_b["doctor"])
        (sa, ha, ba), (sb, hb, bb) = await asyncio.gather(fa, fb)
        statuses = sorted([sa, sb])
        assert statuses == [201, 409], f"round {i}: {sa} {ba[:200]} / {sb} {bb[:200]}"
        winner, loser_body = (("a", a, ha), bb) if sa == 201 else (("b", b, hb), ba)
        assert json.loads(loser_body)["code"] == "doctor_busy", loser_body
        assert "other_room" not in loser_body and room_a not in loser_body, loser_body
        name, node, headers = winner
        wins[name] += 1
        location = headers["Location"]
        assert location.startswith(node.base + "/v1/rooms/"), location
        req = urllib.request.Request(location, method="DELETE",
                                     headers={"Authorization": f"Bearer "
                                              f"{(tok_a if name == 'a' else tok_b)['doctor']}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200
        # The winner's node releases the lease once the session ended.
        await wait_for(lambda: redis.command("GET", lease_key("dr-race")) is None, 5,
                       "the lease released")
    print(f"go-live race: {rounds} rounds, node a won {wins['a']}, node b won {wins['b']}")
    # The refusals' records name the room holding the lease (backend only).
    refused = [r for n in (a, b) for r in n.access_log()
               if r["event"] == "join_refused" and r.get("reason") == "doctor_busy"]
    assert len(refused) == rounds, len(refused)
    for r in refused:
        other = r["detail"].get("other_room")
        assert other in (room_a, room_b) and other != r["room"], r


async def redirect_and_outage(redis, a, b):
    room, tokens = a.create_room()  # its records live on node a
    pcs = []
    try:
        patient = RTCPeerConnection()
        pcs.append(patient)
        for track in (AudioStreamTrack(), VideoStreamTrack()):
            patient.addTransceiver(track, direction="sendonly")
        await patient.setLocalDescription(await patient.createOffer())
        sdp = patient.localDescription.sdp.encode()
        loop = asyncio.get_running_loop()
        status, headers, body = await loop.run_in_executor(
            None, post, f"{b.base}/v1/rooms/{room}/whip", sdp, tokens["patient"])
        assert status == 307, f"{status} {body}"
        location = headers["Location"]
        assert location.startswith(f"{a.base}/v1/rooms/{room}/whip?ticket="), location
        assert tokens["patient"] not in location, "the token must be sealed, not in the URL"
        # A browser drops Authorization on a cross-origin redirect: the ticket carries it.
        status, headers, body = await loop.run_in_executor(None, post, location, sdp)
        assert status == 201, f"{status} {body}"
        assert headers["Location"].startswith(f"{a.base}/v1/rooms/{room}/sessions/"), headers
        await patient.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))
        assert a.metric("medrelay_cluster_placements_total", outcome="placed") >= 1
        assert b.metric("medrelay_cluster_redirects_total") == 1

        # A tampered or foreign ticket is refused.
        status, _, body = await loop.run_in_executor(None, post, location[:-4] + "AAAA", sdp)
        assert status == 403 and json.loads(body)["code"] == "invalid_ticket", (status, body)

        doctor = RTCPeerConnection()
        pcs.append(doctor)
        doctor.addTransceiver("audio", direction="recvonly")
        doctor.addTransceiver("video", direction="recvonly")
        frames = FrameCounter()
        frames.attach(doctor, loop.time())
        await a.post_offer(doctor, room, "whep", tokens["doctor"], "?role=patient")
        await wait_for(lambda: frames.frames["video"] > 30, 20, "the doctor decoding the patient")
        print(f"redirected publish: doctor decoded {frames.frames['video']} video frames")

        # A room nobody joined yet: after the outage its home must still be known.
        idle_room, idle_tokens = a.create_room(roles=(("patient", "patient-idle"),))

        # Store outage: Redis killed mid-call.
        redis.kill()
        await wait_for(lambda: get(f"{a.base}/readyz") == 503, 5, "/readyz 503 without Redis")
        assert get(f"{a.base}/healthz") == 200
        assert a.metric("medrelay_cluster_store_up") == 0
        before = frames.frames["video"]
        status, headers, body = await loop.run_in_executor(
            None, post, f"{a.base}/v1/rooms/{room}/whep?role=patient", await offer_sdp(),
            tokens["doctor"])
        assert status == 503 and headers.get("Retry-After"), (status, headers, body)
        assert json.loads(body)["code"] == "cluster_unavailable", body
        await wait_for(lambda: frames.frames["video"] > before + 60, 10,
                       "media flowing during the outage")
        print(f"outage: {frames.frames['video'] - before} frames decoded without Redis")

        redis.start()
        for n in (a, b):
            await wait_for(lambda n=n: get(f"{n.base}/readyz") == 200, 10, "/readyz 200 again")
        # The node re-took its room: placement keeps it here, a join works again.
        room_key = "{%s}:room:%s" % (PREFIX, room)
        sub = RTCPeerConnection()
        pcs.append(sub)
        sub.addTransceiver("audio", direction="recvonly")
        sub.addTransceiver("video", direction="recvonly")
        await sub.setLocalDescription(await sub.createOffer())
        status, headers, body = await loop.run_in_executor(
            None, post, f"{b.base}/v1/rooms/{room}/whep?role=patient",
            sub.localDescription.sdp.encode(), tokens["doctor"])
        # Redis restarted empty; node a's heartbeat recorded its room again, so node b redirects.
        assert status == 307, (status, body)
        status, _, body = await loop.run_in_executor(None, post, headers["Location"],
                                                     sub.localDescription.sdp.encode())
        assert status == 201, (status, body)
        # ...and the doctor's lease is back in Redis, held by its room.
        assert redis.command("GET", lease_key("doctor-1")).startswith(room + "|node-a|")
        assert redis.command("HGET", room_key, "node") == "node-a"
        # The idle room was registered again by node a (Redis came back empty): b redirects.
        status, headers, body = await loop.run_in_executor(
            None, post, f"{b.base}/v1/rooms/{idle_room}/whip", await offer_sdp(),
            idle_tokens["patient"])
        assert status == 307 and headers["Location"].startswith(a.base), (status, body)
        assert frames.frames["video"] > before
    finally:
        for pc in pcs:
            await pc.close()


async def main():
    binary = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    redis = RedisServer()
    nodes = []
    try:
        import tempfile
        secrets_dir = tempfile.TemporaryDirectory(prefix="medrelay-cluster-")
        secret = write_secret(secrets_dir.name)
        for name in ("node-a", "node-b"):
            port = free_port()
            nodes.append(Server(binary, cluster_settings(redis, name, secret, port, prefix=PREFIX),
                                prefix=f"medrelay-{name}-"))
        a, b = nodes
        for n in nodes:
            await wait_for(lambda n=n: get(f"{n.base}/readyz") == 200, 10, "both nodes ready")
        assert a.metric("medrelay_cluster_store_up") == 1
        await wait_for(lambda: a.metric("medrelay_cluster_nodes", state="serving") == 2, 5,
                       "both nodes registered")
        try:
            await concurrent_go_live(redis, a, b, rounds)
            await redirect_and_outage(redis, a, b)
        except AssertionError:
            for name, n in (("node-a", a), ("node-b", b)):
                print(f"--- {name} log (tail) ---\n" + "".join(n.text().splitlines(True)[-40:]),
                      file=sys.stderr)
            raise
        print("PASS")
    finally:
        for n in nodes:
            n.close()
        redis.close()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except AssertionError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
