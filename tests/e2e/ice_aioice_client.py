"""aioice (python3-aioice, an independent ICE stack) as the controlling full agent against our
ICE-lite candidate. Usage: ice_aioice_client.py <port> <lite-ufrag> <lite-pwd> <our-ufrag> <our-pwd>

Connects over UDP to 127.0.0.1:<port>, sends an RTP-looking packet on the nominated pair and
waits for the relay's echo. Prints CONNECTED and ECHO lines; exits non-zero on failure."""
import asyncio
import sys

import aioice
import aioice.ice

# Loopback only (interop-notes): gather nothing but 127.0.0.1.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


async def main() -> int:
    port, lite_ufrag, lite_pwd, my_ufrag, my_pwd = sys.argv[1:6]
    conn = aioice.Connection(ice_controlling=True, components=1, use_ipv6=False)
    conn.local_username = my_ufrag
    conn.local_password = my_pwd
    conn.remote_is_lite = True  # regular nomination: a plain check, then USE-CANDIDATE
    conn.remote_username = lite_ufrag
    conn.remote_password = lite_pwd
    await conn.gather_candidates()
    await conn.add_remote_candidate(
        aioice.Candidate(foundation="1", component=1, transport="udp", priority=2130706431,
                         host="127.0.0.1", port=int(port), type="host"))
    await conn.add_remote_candidate(None)
    await asyncio.wait_for(conn.connect(), 10)
    print("CONNECTED", flush=True)
    rtp = bytes([0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 42]) + b"hello-from-aioice"
    await conn.send(rtp)
    data = await asyncio.wait_for(conn.recv(), 5)
    print("ECHO", data.hex(), flush=True)
    await conn.close()
    return 0 if data == b"echo:" + rtp else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
