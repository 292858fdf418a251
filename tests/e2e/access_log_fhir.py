#!/usr/bin/env python3
"""FHIR R4 AuditEvent export from the real binary (docs/access-log.md "FHIR AuditEvent").

GET /v1/access-log?format=fhir, paged through link[next], and webhooks with webhooks.format=fhir
to an HTTPS receiver in the test. Every AuditEvent is checked against what the FHIR R4 AuditEvent
definition requires (type 1..1, recorded 1..1, agent 1..* each with requestor, source 1..1 with
observer; action, outcome and network.type from their required value sets; no element the
resource does not define) and the code systems docs/access-log.md states; each one carries its
record's seq and MAC, equal to the JSON export.

Usage: access_log_fhir.py <medrelay binary>
"""
import json
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from medrelay_process import Server  # noqa: E402
from webhooks_delivery import Receiver, check_signature, make_cert, new_secret, wait_for  # noqa

DCM = "http://dicom.nema.org/resources/ontology/DCM"
EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
RESTFUL = "http://hl7.org/fhir/restful-interaction"
# R4 AuditEvent elements (hl7.org/fhir/R4/auditevent.html) and those of its backbone parts.
AUDIT_EVENT = {"resourceType", "id", "meta", "implicitRules", "language", "text", "contained",
               "extension", "modifierExtension", "type", "subtype", "action", "period",
               "recorded", "outcome", "outcomeDesc", "purposeOfEvent", "agent", "source",
               "entity"}
AGENT = {"id", "extension", "modifierExtension", "type", "role", "who", "altId", "name",
         "requestor", "location", "policy", "media", "network", "purposeOfUse"}
SOURCE = {"id", "extension", "modifierExtension", "site", "observer", "type"}
ENTITY = {"id", "extension", "modifierExtension", "what", "type", "role", "lifecycle",
          "securityLabel", "name", "description", "query", "detail"}
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
# Stated mapping (docs/access-log.md): event -> (type system, type code, subtype code, action).
MAPPING = {
    "participant_joined": (DCM, "110114", "110122", "E"),
    "join_refused": (DCM, "110114", "110122", "E"),
    "api_auth_failed": (DCM, "110114", "110122", "E"),
    "participant_left": (DCM, "110114", "110123", "E"),
    "room_created": (EVENT_TYPE, "rest", "create", "C"),
    "invite_issued": (EVENT_TYPE, "rest", "create", "C"),
    "room_edited": (EVENT_TYPE, "rest", "update", "U"),
    "consultation_started": (EVENT_TYPE, "rest", "update", "U"),
    "consultation_ended": (EVENT_TYPE, "rest", "update", "U"),
    "room_cancelled": (EVENT_TYPE, "rest", "delete", "D"),
    "invite_revoked": (EVENT_TYPE, "rest", "delete", "D"),
    "log_opened": (DCM, "110100", "110120", "E"),
    "log_reopened": (DCM, "110100", "110120", "E"),
    "clock_sync": (DCM, "110100", None, "E"),
}


def coding_ok(c, system):
    assert isinstance(c, dict) and c.get("system") == system and c.get("code"), c
    assert set(c) <= {"system", "code", "display", "version", "userSelected"}, c


def check_audit_event(ev, record):
    assert ev["resourceType"] == "AuditEvent"
    assert set(ev) <= AUDIT_EVENT, set(ev) - AUDIT_EVENT
    # Required elements.
    assert "type" in ev and "recorded" in ev and "source" in ev, ev
    assert isinstance(ev["agent"], list) and ev["agent"], ev
    assert INSTANT.match(ev["recorded"]), ev["recorded"]
    assert ev["recorded"] == record["time"]
    # Required bindings: AuditEventAction, AuditEventOutcome, AuditEventAgentNetworkType.
    assert ev.get("action") in ("C", "R", "U", "D", "E"), ev.get("action")
    assert ev.get("outcome") in ("0", "4", "8", "12"), ev.get("outcome")
    want = MAPPING.get(record["event"])
    if want:
        system, code, sub, action = want
        coding_ok(ev["type"], system)
        assert ev["type"]["code"] == code, (record["event"], ev["type"])
        if sub is None:
            assert "subtype" not in ev, ev
        else:
            coding_ok(ev["subtype"][0], DCM if system == DCM else RESTFUL)
            assert ev["subtype"][0]["code"] == sub
        assert ev["action"] == action
    if want:
        refusal = record["event"] in ("join_refused", "api_auth_failed") or (
            record["event"] == "clock_sync" and not record["detail"]["synced"])
        assert ev["outcome"] == ("4" if refusal else "0"), (record["event"], ev["outcome"])
    requestors = 0
    for a in ev["agent"]:
        assert set(a) <= AGENT, set(a) - AGENT
        assert isinstance(a["requestor"], bool), a
        requestors += a["requestor"]
        if "network" in a:
            assert a["network"]["type"] in ("1", "2", "3", "4", "5"), a["network"]
        for c in a.get("type", {}).get("coding", []):
            assert c.get("system") and c.get("code"), c
    assert requestors == 1, ev["agent"]
    if record.get("subject"):
        ids = [a["who"].get("identifier", {}).get("value") for a in ev["agent"]]
        assert record["subject"] in ids, ids
    assert set(ev["source"]) <= SOURCE and isinstance(ev["source"]["observer"], dict)
    details = {}
    for e in ev.get("entity", []):
        assert set(e) <= ENTITY, set(e) - ENTITY
        for d in e.get("detail", []):
            assert set(d) == {"type", "valueString"}, d
            details[d["type"]] = d["valueString"]
    assert details["seq"] == str(record["seq"]) and details["mac"] == record["mac"], details
    assert details["prev_mac"] == record["prev_mac"] and details["event"] == record["event"]


def chain_head(bundle):
    ext = bundle["meta"]["extension"][0]
    assert ext["url"] == "urn:medrelay:fhir:chain-head", ext
    parts = {x["url"]: x for x in ext["extension"]}
    return parts["seq"]["valueUnsignedInt"], parts["mac"]["valueString"]


def main():
    binary = sys.argv[1]
    work = tempfile.TemporaryDirectory(prefix="medrelay-fhir-")
    d = work.name
    make_cert(d, "ca")
    cert, key = make_cert(d, "receiver", ca="ca")
    receiver = Receiver(cert, key)
    secret, raw = new_secret()
    secret_file = os.path.join(d, "hook.secret")
    with open(secret_file, "w") as f:
        f.write(secret + "\n")
    server = Server(binary, [f"webhooks.urls=https://127.0.0.1:{receiver.port}/fhir",
                             f"webhooks.secret_files={secret_file}",
                             f"webhooks.ca_file={os.path.join(d, 'ca.pem')}",
                             "webhooks.format=fhir"], prefix="medrelay-fhir-run-")
    try:
        room, _ = server.create_room()
        status, _, _ = server.request("GET", "/v1/rooms", token="mrk_wrong")
        assert status == 401
        status, _, body = server.request("DELETE", f"/v1/rooms/{room}")
        assert status in (200, 204), body
        records = server.access_log()
        by_seq = {r["seq"]: r for r in records}
        assert {"room_created", "invite_issued", "api_auth_failed", "room_cancelled",
                "invite_revoked", "log_opened"} <= {r["event"] for r in records}
        # The clock's state is recorded at start (docs/access-log.md "Time").
        clock = [r for r in records if r["event"] == "clock_sync"]
        assert clock and clock[0]["reason"] == "start", clock
        assert isinstance(clock[0]["detail"]["synced"], bool)
        assert clock[0]["detail"]["est_error_us"] >= 0 and "max_error_us" in clock[0]["detail"]

        # The export, three at a time through link[next].
        events, path, pages = [], "/v1/access-log?format=fhir&limit=3", 0
        while path:
            status, headers, body = server.request("GET", path)
            assert status == 200, body
            ctype = {k.lower(): v for k, v in headers.items()}["content-type"]
            assert ctype.startswith("application/fhir+json"), headers
            bundle = json.loads(body)
            assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
            assert "total" not in bundle
            head_seq, head_mac = chain_head(bundle)
            assert head_seq >= max(by_seq) and len(head_mac) == 64
            events += [e["resource"] for e in bundle["entry"]]
            nxt = [link["url"] for link in bundle.get("link", []) if link["relation"] == "next"]
            path = nxt[0] if nxt else None
            pages += 1
        assert pages >= 2
        assert len(events) == len(records)
        for ev, rec in zip(events, records):
            check_audit_event(ev, rec)
        status, _, body = server.request("GET", "/v1/access-log?format=xml")
        assert status == 400 and json.loads(body)["code"] == "invalid_field", body

        # The webhook format: one Bundle per record, signed. (The refused format=xml read above
        # is a record too.)
        records = server.access_log()
        by_seq = {r["seq"]: r for r in records}
        wait_for("fhir webhooks", lambda: len({r["id"] for r in receiver.accepted()})
                 >= len(records))
        for req in receiver.accepted():
            check_signature(req, [raw])
            assert req["content_type"] == "application/fhir+json", req["content_type"]
            bundle = json.loads(req["body"])
            assert bundle["resourceType"] == "Bundle" and len(bundle["entry"]) == 1
            ev = bundle["entry"][0]["resource"]
            seq = int([d for e in ev["entity"] for d in e.get("detail", [])
                       if d["type"] == "seq"][0]["valueString"])
            check_audit_event(ev, by_seq[seq])
            head_seq, _ = chain_head(bundle)
            assert head_seq >= seq
        print(f"fhir: {len(events)} AuditEvents in {pages} pages and "
              f"{len(receiver.accepted())} webhooks checked")
    finally:
        server.close()
        receiver.httpd.shutdown()
        work.cleanup()


if __name__ == "__main__":
    main()
