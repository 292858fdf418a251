#!/usr/bin/python3
# Prints a GStreamer 1.22 webrtcbin offer: VP8 + Opus sendonly, bundle-policy max-bundle.
# "publish": the create-offer SDP as is; "gathered": local description after ICE gathering
# (127.0.0.1 added to libnice, which skips loopback otherwise).
import sys, time
import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
from gi.repository import Gst, GstWebRTC, GLib

Gst.init(None)
mode = sys.argv[1] if len(sys.argv) > 1 else "publish"
pipe = Gst.parse_launch(
    "webrtcbin name=w bundle-policy=max-bundle "
    "videotestsrc is-live=true ! videoconvert ! vp8enc deadline=1 ! rtpvp8pay ! "
    "application/x-rtp,media=video,encoding-name=VP8,payload=96 ! w. "
    "audiotestsrc is-live=true ! audioconvert ! audioresample ! opusenc ! rtpopuspay ! "
    "application/x-rtp,media=audio,encoding-name=OPUS,payload=97 ! w.")
w = pipe.get_by_name("w")
if mode == "gathered":
    agent = w.get_property("ice-agent")
    agent.emit("add-local-ip-address", "127.0.0.1")
pipe.set_state(Gst.State.PLAYING)
time.sleep(1.0)
for i in range(2):
    t = w.emit("get-transceiver", i)
    if t:
        t.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
p = Gst.Promise.new()
w.emit("create-offer", None, p)
p.wait()
reply = p.get_reply()
offer = reply.get_value("offer")

text = offer.sdp.as_text()
if mode == "gathered":
    p2 = Gst.Promise.new()
    w.emit("set-local-description", offer, p2)
    p2.wait()
    deadline = time.time() + 10
    while (w.get_property("ice-gathering-state") != GstWebRTC.WebRTCICEGatheringState.COMPLETE
           and time.time() < deadline):
        time.sleep(0.1)
    sys.stdout.write(w.get_property("local-description").sdp.as_text())
else:
    sys.stdout.write(text)
sys.stdout.flush()
pipe.set_state(Gst.State.NULL)
