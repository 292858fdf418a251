"""The real medrelay binary for Python e2e tests: a temp data dir, ephemeral ports, the API key it
generated, the REST API, /metrics and the access log (docs/access-log.md) through GET
/v1/access-log (tests/support/server_process.h is the C++ counterpart).

Runs with Debian's /usr/bin/python3. Loopback only.
"""
import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request


def stop(proc):
    """SIGTERM, then SIGKILL if it has not exited within 10 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


class Server:
    """medrelay started with `settings` (["media.stale_after_ms=1000", ...]) on top of the
    isolated defaults; stops on close() with SIGTERM."""

    def __init__(self, binary, settings=(), prefix="medrelay-e2e-", data_dir=None):
        """data_dir: start on this state directory (a restart after kill()); default: a new one
        that close() removes."""
        self.dir = tempfile.TemporaryDirectory(prefix=prefix)
        data = data_dir or os.path.join(self.dir.name, "data")
        self.data_dir = data
        args = [binary,
                "--set", f"storage.data_dir={data}",
                "--set", "http.listen=127.0.0.1:0",
                "--set", "media.udp_port=0",
                "--set", "media.tcp_port=0",
                "--set", "media.workers=1",
                "--set", "turn.udp_listen=127.0.0.1:0",
                "--set", "shutdown.grace_ms=3000"]
        for s in settings:
            args += ["--set", s]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self.output = []
        self.invite_ids = {}
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        http = self._wait(r"listening on [^ ]* port ([0-9]+)")
        self._wait(r"TURN listening: udp ([0-9]+)")
        self.base = f"http://127.0.0.1:{http}"
        with open(os.path.join(data, "api-key")) as f:
            self.api_key = f.read().strip()

    def _read(self):
        for line in self.proc.stdout:
            with self.lock:
                self.output.append(line)

    def text(self):
        with self.lock:
            return "".join(self.output)

    def _wait(self, pattern, timeout=15):
        end = time.time() + timeout
        while time.time() < end:
            m = re.search(pattern, self.text())
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"medrelay did not log {pattern!r}:\n{self.text()}")

    def request(self, method, path, body=None, token=None, content_type="application/json"):
        headers = {"Authorization": f"Bearer {token or self.api_key}"}
        if body is not None:
            headers["Content-Type"] = content_type
            if not isinstance(body, bytes):
                body = json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=20) as r:
                return r.status, dict(r.headers), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read().decode()

    def create_room(self, mode="d2p", roles=(("doctor", "doctor-1"), ("patient", "patient-7"))):
        """A room open now with one invite per (role, subject); returns (room, {role: token}).
        The invites' ids are kept in self.invite_ids[role]."""
        status, _, body = self.request("POST", "/v1/rooms", {
            "mode": mode, "scheduled_start": "now", "institution_id": "clinic-1",
            "institution_contact": "03-0000-0000", "doctor_display_name": "Dr. Example"})
        assert status == 201, body
        room = json.loads(body)["id"]
        tokens = {}
        for role, subject in roles:
            status, _, body = self.request("POST", f"/v1/rooms/{room}/invites",
                                           {"role": role, "subject": subject})
            assert status == 201, body
            tokens[role] = json.loads(body)["token"]
            self.invite_ids[role] = json.loads(body)["id"]
        return room, tokens

    def events(self, room, token=None):
        """Opens GET /v1/rooms/{room}/events; returns a list the events (dicts with "type") are
        appended to by a reader thread until the stream ends."""
        req = urllib.request.Request(f"{self.base}/v1/rooms/{room}/events",
                                     headers={"Authorization": f"Bearer {token or self.api_key}",
                                              "Accept": "text/event-stream"})
        resp = urllib.request.urlopen(req, timeout=60)
        seen = []

        def read():
            kind, data = None, ""
            try:
                for raw in resp:
                    line = raw.decode().rstrip("\n")
                    if line.startswith("event:"):
                        kind = line[6:].strip()
                    elif line.startswith("data:"):
                        data += line[5:].strip()
                    elif line == "" and kind:
                        event = json.loads(data)
                        event["type"] = kind
                        seen.append(event)
                        kind, data = None, ""
            except Exception:
                pass

        threading.Thread(target=read, daemon=True).start()
        return seen

    def access_log(self):
        """Every access-log record, oldest first (GET /v1/access-log, paged)."""
        records, after = [], 0
        while True:
            status, _, body = self.request("GET", f"/v1/access-log?limit=1000&after={after}")
            assert status == 200, body
            page = json.loads(body)
            records += page.get("records", [])
            if page.get("next_after") is None:
                return records
            after = page["next_after"]

    def metric(self, name, **labels):
        """Sum of the samples of `name` whose labels include `labels`."""
        status, _, body = self.request("GET", "/metrics")
        assert status == 200, body
        total = 0.0
        for line in body.splitlines():
            m = re.match(r"^(\w+)(\{[^}]*\})? ([0-9.eE+-]+)$", line)
            if not m or m.group(1) != name:
                continue
            have = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
            if all(have.get(k) == v for k, v in labels.items()):
                total += float(m.group(3))
        return total

    async def post_offer(self, pc, room, kind, token, query=""):
        """Offers pc's local description over WHIP (kind="whip") or WHEP, applies the answer;
        returns the session id from the Location header."""
        import asyncio

        from aiortc import RTCSessionDescription

        await pc.setLocalDescription(await pc.createOffer())
        status, headers, body = await asyncio.get_running_loop().run_in_executor(
            None, lambda: self.request("POST", f"/v1/rooms/{room}/{kind}{query}",
                                       pc.localDescription.sdp.encode(), token,
                                       "application/sdp"))
        assert status == 201, f"{kind}: {status} {body}"
        await pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))
        return headers["Location"].rsplit("/", 1)[1]

    def close_process(self):
        """Stops the process (SIGTERM) and keeps the data directory."""
        stop(self.proc)

    def close(self):
        stop(self.proc)
        self.dir.cleanup()
