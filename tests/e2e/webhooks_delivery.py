#!/usr/bin/env python3
"""Signed webhooks end to end (docs/access-log.md "Webhooks"), against the real binary.

An HTTPS receiver inside this test (http.server + ssl, certificate from a private CA given as
webhooks.ca_file) checks every request's Standard Webhooks signature with both secrets of a
rotation and fails its first three requests. The relay is SIGKILLed while deliveries are in
flight and started again on the same data directory. The receiver must end up with every
access-log record exactly once per webhook-id, first seen in seq order, each body equal to the
record the log holds. A second endpoint serves a certificate the CA file does not vouch for: its
deliveries fail certificate verification and are dead-lettered. A replay resends a delivered
record with the same webhook-id.

Usage: webhooks_delivery.py <medrelay binary>
"""
import base64
import hashlib
import hmac
import json
import os
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from medrelay_process import Server  # noqa: E402

FAIL_FIRST = 3
TOLERANCE_S = 300


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_cert(d, name, ca=None):
    """A P-256 key and certificate for 127.0.0.1, signed by `ca` (a name made earlier) or
    self-signed."""
    ext = os.path.join(d, f"{name}.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:%s\n"
                % ("FALSE" if ca else "TRUE"))
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
    if ca:
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
                "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", f"{name}.pem", cwd=d)
    else:
        openssl("x509", "-req", "-in", f"{name}.csr", "-signkey", f"{name}.key", "-days", "2",
                "-extfile", ext, "-out", f"{name}.pem", cwd=d)
    return os.path.join(d, f"{name}.pem"), os.path.join(d, f"{name}.key")


def new_secret():
    raw = os.urandom(32)
    return "whsec_" + base64.b64encode(raw).decode(), raw


class Receiver:
    """An HTTPS webhook endpoint: records every request; fails the first `fail_first`."""

    def __init__(self, cert, key, fail_first=0, delay=0.0):
        self.lock = threading.Lock()
        self.requests = []
        self.fail_first = fail_first
        self.delay = delay
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.lock:
                    n = len(outer.requests)
                    outer.requests.append({
                        "id": self.headers.get("webhook-id"),
                        "timestamp": self.headers.get("webhook-timestamp"),
                        "signature": self.headers.get("webhook-signature"),
                        "content_type": self.headers.get("Content-Type"),
                        "body": body, "failed": n < outer.fail_first})
                if n < outer.fail_first:
                    self.send_response(500)
                else:
                    time.sleep(outer.delay)
                    self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        class Quiet(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a relay that stops mid-request resets the connection

        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def accepted(self):
        with self.lock:
            return [r for r in self.requests if not r["failed"]]

    def all(self):
        with self.lock:
            return list(self.requests)


def check_signature(req, secrets):
    """Standard Webhooks: every secret of the rotation signs id.timestamp.body."""
    assert req["id"] and req["timestamp"] and req["signature"], req
    ts = int(req["timestamp"])
    assert abs(time.time() - ts) < TOLERANCE_S, f"timestamp {ts} outside the tolerance"
    content = req["id"].encode() + b"." + req["timestamp"].encode() + b"." + req["body"]
    sent = req["signature"].split(" ")
    assert len(sent) == len(secrets), req["signature"]
    for raw in secrets:
        want = "v1," + base64.b64encode(hmac.new(raw, content, hashlib.sha256).digest()).decode()
        assert any(hmac.compare_digest(want, s) for s in sent), f"no valid signature: {req}"


def wait_for(what, predicate, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def make_records(server, rounds):
    """Rooms, invites, a revoke and a cancel: records the API answers only once durable."""
    for _ in range(rounds):
        room, _ = server.create_room()
        status, _, body = server.request(
            "DELETE", f"/v1/rooms/{room}/invites/{server.invite_ids['patient']}")
        assert status in (200, 204), body
        status, _, body = server.request("DELETE", f"/v1/rooms/{room}")
        assert status in (200, 204), body


def main():
    binary = sys.argv[1]
    work = tempfile.TemporaryDirectory(prefix="medrelay-webhooks-")
    d = work.name
    make_cert(d, "ca")
    good_cert, good_key = make_cert(d, "receiver", ca="ca")
    rogue_cert, rogue_key = make_cert(d, "rogue")  # self-signed: not in the CA file
    good = Receiver(good_cert, good_key, fail_first=FAIL_FIRST, delay=0.02)
    rogue = Receiver(rogue_cert, rogue_key)

    new, new_raw = new_secret()
    old, old_raw = new_secret()
    secret_file = os.path.join(d, "hook.secret")
    with open(secret_file, "w") as f:
        f.write(f"# rotating: new first, old until the backend switched\n{new}\n{old}\n")
    rogue_secret, _ = new_secret()
    rogue_file = os.path.join(d, "rogue.secret")
    with open(rogue_file, "w") as f:
        f.write(rogue_secret + "\n")
    good_url = f"https://127.0.0.1:{good.port}/hooks/medrelay"
    rogue_url = f"https://127.0.0.1:{rogue.port}/hooks"
    settings = [f"webhooks.urls={good_url},{rogue_url}",
                f"webhooks.secret_files={secret_file},{rogue_file}",
                f"webhooks.ca_file={os.path.join(d, 'ca.pem')}",
                "webhooks.max_attempts=4", "webhooks.backoff_initial_ms=20",
                "webhooks.backoff_max_ms=100", "webhooks.timeout_ms=5000"]

    first = Server(binary, settings, prefix="medrelay-webhooks-run-")
    data_dir = first.data_dir
    second = None
    try:
        make_records(first, 3)
        before = first.access_log()
        wait_for("the first records", lambda: {json.loads(r["body"])["seq"]
                                               for r in good.accepted()}
                 >= {r["seq"] for r in before})
        # More records, then SIGKILL with deliveries queued and in flight (the receiver is slow).
        make_records(first, 4)
        first.proc.kill()
        first.proc.wait(timeout=10)
        killed_at = len(good.all())

        second = Server(binary, settings, prefix="medrelay-webhooks-run-", data_dir=data_dir)
        make_records(second, 1)
        records = second.access_log()
        want = [r["seq"] for r in records]
        assert want == list(range(1, len(want) + 1)), want
        wait_for("every record after the restart",
                 lambda: {json.loads(r["body"])["seq"] for r in good.accepted()} >= set(want))

        # Every request, failed or not, carries valid signatures of both secrets.
        for req in good.all():
            check_signature(req, [new_raw, old_raw])
            assert req["content_type"] == "application/json", req["content_type"]
        # Exactly once per webhook-id, first seen in seq order, bodies as the log has them.
        by_id = {}
        order = []
        for req in good.accepted():
            if req["id"] in by_id:
                assert by_id[req["id"]] == req["body"], "a retry changed the body"
                continue
            by_id[req["id"]] = req["body"]
            order.append(json.loads(req["body"]))
        seqs = [p["seq"] for p in order]
        assert seqs == want, f"seq order {seqs} != {want}"
        for payload, record in zip(order, records):
            assert payload["data"] == record, (payload["data"], record)
            assert payload["type"] == "access_log." + record["event"]
            assert payload["timestamp"] == record["time"]
            head = payload["chain_head"]
            assert head["seq"] >= payload["seq"] and len(head["mac"]) == 64, head
        duplicates = len(good.accepted()) - len(by_id)
        failed = sum(r["failed"] for r in good.all())
        assert failed == FAIL_FIRST, failed

        # The rogue endpoint never got a request through: certificate verification failed.
        assert rogue.all() == [], "a request reached an endpoint the CA file does not vouch for"
        wait_for("dead letters", lambda: second.metric("medrelay_webhook_dead_letters_total") >= 1)
        status, _, body = second.request("GET", "/v1/webhooks/deliveries?state=dead&limit=1000")
        assert status == 200, body
        dead = json.loads(body)["deliveries"]
        assert dead and all(x["endpoint"] == rogue_url for x in dead), dead
        assert all(x["attempts"] == 4 and "certificate" in x["last_error"].lower()
                   for x in dead), dead[0]

        # The good endpoint's deliveries are all delivered; replay resends one with its id.
        status, _, body = second.request("GET", "/v1/webhooks/deliveries?state=delivered"
                                                "&limit=1000")
        assert status == 200, body
        delivered = [x for x in json.loads(body)["deliveries"] if x["endpoint"] == good_url]
        assert sorted(x["seq"] for x in delivered) == want
        first_delivery = min(delivered, key=lambda x: x["seq"])
        status, _, body = second.request(
            "POST", f"/v1/webhooks/deliveries/{first_delivery['id']}/replay")
        assert status == 202, body
        n = len(good.accepted())
        wait_for("the replay", lambda: any(r["id"] == first_delivery["message_id"]
                                           for r in good.accepted()[n:]))
        status, _, body = second.request("POST", "/v1/webhooks/deliveries/999999/replay")
        assert status == 404 and json.loads(body)["code"] == "delivery_not_found", body
        status, _, body = second.request("GET", "/v1/webhooks/deliveries?state=bogus")
        assert status == 400 and json.loads(body)["code"] == "invalid_field", body

        assert second.metric("medrelay_webhook_deliveries_total") >= 1
        wait_for("lag 0", lambda: second.metric("medrelay_webhook_lag_records") == 0)
        # Anchors (docs/access-log.md "Anchors"): the chain heads the receiver got verify the log;
        # once its tail is cut, plain verify still passes and the anchors catch it.
        second.close_process()
        log_dir = os.path.join(data_dir, "access-log")
        anchors = os.path.join(d, "anchors.jsonl")
        with open(anchors, "wb") as f:
            for req in good.accepted():
                f.write(req["body"] + b"\n")
        ok = subprocess.run([binary, "audit", "verify", log_dir, "--anchor", anchors],
                            capture_output=True, text=True)
        assert ok.returncode == 0 and "anchors matched" in ok.stdout, ok.stdout + ok.stderr
        newest = sorted(n for n in os.listdir(log_dir) if n.endswith(".jsonl"))[-1]
        path = os.path.join(log_dir, newest)
        with open(path, "rb") as f:
            lines = f.read().splitlines(keepends=True)
        last_anchor = max(json.loads(r["body"])["chain_head"]["seq"] for r in good.accepted())
        cut = [ln for ln in lines if json.loads(ln)["seq"] < last_anchor]
        assert cut and len(cut) < len(lines)
        with open(path, "wb") as f:
            f.write(b"".join(cut))
        plain = subprocess.run([binary, "audit", "verify", log_dir], capture_output=True,
                               text=True)
        assert plain.returncode == 0, "plain verify accepts a cut tail: " + plain.stdout
        with open(anchors, "rb") as f:
            anchored = subprocess.run([binary, "audit", "verify", log_dir, "--anchor", "-"],
                                      stdin=f, capture_output=True, text=True)
        assert anchored.returncode == 1 and ": truncated: " in anchored.stdout, anchored.stdout

        print(f"webhooks: {len(want)} records delivered once each in seq order across a SIGKILL "
              f"(requests before the kill: {killed_at}, duplicate deliveries: {duplicates}, "
              f"failed first: {failed}); rogue endpoint dead-lettered {len(dead)}")
    finally:
        if second is not None:
            second.close()
        first.close()
        good.httpd.shutdown()
        rogue.httpd.shutdown()
        work.cleanup()


if __name__ == "__main__":
    main()
