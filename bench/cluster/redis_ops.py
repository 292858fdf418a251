#!/usr/bin/python3
"""Redis operations and round trips per join on a two-node cluster (docs/cluster.md, "Figures"):
two real medrelay nodes on one redis-server, 100 patient joins + leaves and 100 doctor joins +
leaves on the room's node, then 100 joins on the wrong node (307). Reports Redis's own
commandstats deltas (heartbeats included), the nodes' medrelay_cluster_store_latency_seconds
means and the time of a 307.

Usage: bench/cluster/redis_ops.py build/release/medrelay   (run from the repository root)
"""
import asyncio, os, sys, time, urllib.request, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "e2e"))
from media_harness import wait_for
from medrelay_process import Server
from redis_process import RedisServer, cluster_settings, free_port, write_secret
from cluster_two_nodes import offer_sdp, post, get

def stats(redis):
    out = {}
    for line in redis.command("INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_"):
            name, rest = line.split(":", 1)
            kv = dict(x.split("=") for x in rest.split(","))
            out[name[8:]] = int(kv["calls"])
    return out

def delta(a, b):
    return {k: b.get(k, 0) - a.get(k, 0) for k in b if b.get(k, 0) != a.get(k, 0)}

async def main():
    redis = RedisServer()
    d = tempfile.TemporaryDirectory()
    secret = write_secret(d.name)
    nodes = []
    for name in ("node-a", "node-b"):
        s = cluster_settings(redis, name, secret, free_port(), prefix="m")
        s = [x for x in s if not x.startswith("cluster.heartbeat_ms")] + ["cluster.heartbeat_ms=400"]
        nodes.append(Server(sys.argv[1], s))
    a, b = nodes
    for n in nodes:
        await wait_for(lambda n=n: get(f"{n.base}/readyz") == 200, 10, "ready")
    room, tok = a.create_room()
    sdp = await offer_sdp()
    N = 100
    for role in ("patient", "doctor"):
        s0 = stats(redis); t0 = time.time()
        for _ in range(N):
            st, h, body = post(f"{a.base}/v1/rooms/{room}/whip", sdp, tok[role])
            assert st == 201, body
            req = urllib.request.Request(h["Location"], method="DELETE", headers={"Authorization": f"Bearer {tok[role]}"})
            urllib.request.urlopen(req).read()
        el = time.time() - t0
        s1 = stats(redis)
        dd = delta(s0, s1)
        hb = dd.get("evalsha", 0) + dd.get("eval", 0)
        print(f"{role}: {N} join+leave in {el:.2f}s; redis calls delta {dd} (includes heartbeats of 2 nodes, {el/0.4*2:.0f} est.)")
    # redirect latency: WHIP to b -> 307
    t0 = time.time()
    for _ in range(N):
        st, h, body = post(f"{b.base}/v1/rooms/{room}/whip", sdp, tok["patient"])
        assert st == 307
    print(f"307 from the wrong node: {1000*(time.time()-t0)/N:.2f} ms per request (HTTP round trip included)")
    for n, name in ((a, "a"), (b, "b")):
        s = n.metric("medrelay_cluster_store_latency_seconds_sum"); c = n.metric("medrelay_cluster_store_latency_seconds_count")
        print(f"node {name}: {c:.0f} redis commands, mean round trip {1e6*s/c:.0f} us")
    for n in nodes: n.close()
    redis.close()

asyncio.run(main())
