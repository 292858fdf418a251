"""GStreamer webrtcbin as a WHIP publisher or a WHEP subscriber of medrelay (Debian 12 has no
whipsink/whepsrc: webrtcbin is driven from Python and the offer POSTed by hand). 
libnice skips loopback unless told: add 127.0.0.1 to the ICE agent (interop notes). webrtcbin runs on its own
threads (no GLib main loop needed): pad-added and the fakesink handoffs arrive on streaming
threads, hence the lock around the counters.
"""
import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
from gi.repository import GstSdp, GstWebRTC, Gst  # noqa: E402

Gst.init(None)

PUBLISH = (
    "webrtcbin name=w bundle-policy=max-bundle "
    "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 ! "
    "videoconvert ! vp8enc deadline=1 keyframe-max-dist=30 ! rtpvp8pay ! "
    "application/x-rtp,media=video,encoding-name=VP8,payload=96 ! w. "
    "audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample ! opusenc ! rtpopuspay ! "
    "application/x-rtp,media=audio,encoding-name=OPUS,payload=97 ! w.")


class GstPeer:
    """One webrtcbin in a pipeline with its own GLib main loop thread."""

    def __init__(self, description):
        self.pipe = Gst.parse_launch(description)
        if not isinstance(self.pipe, Gst.Pipeline):  # a lone element comes back bare
            element, self.pipe = self.pipe, Gst.Pipeline.new()
            self.pipe.add(element)
        self.webrtc = self.pipe.get_by_name("w")
        # Keep the agent referenced: PyGObject drops one reference too many on the property's
        # value when its wrapper dies, and webrtcbin then crashes in create-offer.
        self.agent = self.webrtc.get_property("ice-agent")
        self.agent.emit("add-local-ip-address", "127.0.0.1")
        self.frames = {"audio": 0, "video": 0}
        self.lock = threading.Lock()
        self.webrtc.connect("pad-added", self._on_pad)

    def count(self, kind):
        with self.lock:
            return self.frames[kind]

    def _counting_sink(self, kind):
        sink = Gst.ElementFactory.make("fakesink")
        sink.set_property("signal-handoffs", True)
        sink.set_property("sync", False)

        def handoff(_sink, _buf, _pad):
            with self.lock:
                self.frames[kind] += 1
        sink.connect("handoff", handoff)
        return sink

    def _on_pad(self, _element, pad):
        # Incoming RTP: depayload and decode by hand (decodebin is unreliable receive-only).
        if pad.direction != Gst.PadDirection.SRC:
            return
        caps = pad.get_current_caps() or pad.query_caps(None)
        media = caps.get_structure(0).get_string("media")
        if media == "video":
            chain = ["rtpvp8depay", "vp8dec", "videoconvert"]
        elif media == "audio":
            chain = ["rtpopusdepay", "opusdec", "audioconvert"]
        else:
            return
        elements = [Gst.ElementFactory.make(n) for n in chain] + [self._counting_sink(media)]
        for e in elements:
            self.pipe.add(e)
        for a, b in zip(elements, elements[1:]):
            a.link(b)
        for e in elements:
            e.sync_state_with_parent()
        pad.link(elements[0].get_static_pad("sink"))

    def start(self):
        self.pipe.set_state(Gst.State.PLAYING)

    def add_recvonly(self, caps):
        self.webrtc.emit("add-transceiver", GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY,
                         Gst.Caps.from_string(caps))

    def set_sendonly(self):
        i = 0
        while True:
            t = self.webrtc.emit("get-transceiver", i)
            if not t:
                break
            t.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
            i += 1
        return i

    def offer(self):
        """Creates and sets the local offer; returns its SDP text (candidates are not needed:
        the server is ICE-lite and webrtcbin checks towards the answer's candidate)."""
        p = Gst.Promise.new()
        self.webrtc.emit("create-offer", None, p)
        p.wait()
        reply = p.get_reply()  # keep the reply alive while its offer is used
        offer = reply.get_value("offer")
        p2 = Gst.Promise.new()
        self.webrtc.emit("set-local-description", offer, p2)
        p2.wait()
        return offer.sdp.as_text()

    def answer(self, text):
        res, sdp = GstSdp.SDPMessage.new_from_text(text)
        assert res == GstSdp.SDPResult.OK, "answer does not parse in GStreamer"
        desc = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, sdp)
        p = Gst.Promise.new()
        self.webrtc.emit("set-remote-description", desc, p)
        p.wait()

    def close(self):
        self.pipe.set_state(Gst.State.NULL)
