#!/usr/bin/python3
"""One GStreamer webrtcbin peer, driven by harness.ts over JSON lines (stdin: requests, stdout: replies
and events). Run with Debian's /usr/bin/python3 (python3-gi); each client is its own process so the
test can SIGKILL it like a real peer.

Requests:  {"id": n, "method": "...", "params": {...}}
Replies:   {"kind": "result", "id": n, "result": {...}} | {"kind": "error", "id": n, "message": "..."}
Events:    {"kind": "event", "event": {"type": "...", "at": <ms since epoch>, ...}}
At start:  {"kind": "ready", "gstreamer": "<version>", "startMs": <import and init time>}

Methods: offer, answer, mute, hangup, state, close (see protocol.ts).
"""

import json
import os
import sys
import time
import traceback

STARTED = time.monotonic()

import gi  # noqa: E402

gi.require_version('Gst', '1.0')
gi.require_version('GstWebRTC', '1.0')
gi.require_version('GstSdp', '1.0')
gi.require_version('Nice', '0.1')
from gi.repository import GLib, Gst, GstSdp, GstWebRTC, Nice  # noqa: E402

Gst.init(None)

# Everything GStreamer gives back is asynchronous; the main loop serialises it with stdin.
loop = GLib.MainLoop()
out = sys.stdout


def now_ms():
    return int(time.time() * 1000)


def write(message):
    try:
        out.write(json.dumps(message) + '\n')
        out.flush()
    except BrokenPipeError:
        os._exit(0)


def emit(event_type, **fields):
    write({'kind': 'event', 'event': dict(type=event_type, at=now_ms(), **fields)})


def enum_name(value):
    nick = getattr(value, 'value_nick', None)
    return nick if nick else str(value)


class Peer:
    def __init__(self):
        self.pipeline = None
        self.webrtc = None
        self.valve = None
        self.ice = None
        self.keep = []
        self.channel = None
        self.hung_up = False
        self.rtp_packets_sent = 0
        self.rtcp_sent = 0

    # -- offer ---------------------------------------------------------------------------------------

    def offer(self, params, reply):
        if self.pipeline is not None:
            raise RuntimeError('offer called twice')
        audio = params.get('audio')  # None | 'send' | 'recv'
        data = bool(params.get('data'))
        pt = int(params.get('payloadType', 100))
        self.pipeline = Gst.Pipeline.new('peer')
        webrtc = Gst.ElementFactory.make('webrtcbin', 'webrtc')
        if webrtc is None:
            raise RuntimeError('no webrtcbin element (gstreamer1.0-plugins-bad missing?)')
        self.webrtc = webrtc
        webrtc.set_property('bundle-policy', GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
        # webrtcbin 1.22 keeps its GstWebRTCNice by a floating reference, which PyGObject sinks when it
        # wraps it: the wrapper must live as long as webrtcbin, or the agent is freed under it.
        ice = webrtc.get_property('ice-agent')
        self.ice = ice
        ice.set_property('ice-tcp', False)
        # libnice skips loopback interfaces: hand it 127.0.0.1 itself (then it uses only that).
        address = Nice.Address.new()
        if not address.set_from_string('127.0.0.1'):
            raise RuntimeError('Nice.Address refused 127.0.0.1')
        if not ice.get_property('agent').add_local_address(address):
            raise RuntimeError('nice_agent_add_local_address(127.0.0.1) failed')
        self.pipeline.add(webrtc)

        for prop in ('connection-state', 'ice-connection-state', 'ice-gathering-state', 'signaling-state'):
            webrtc.connect('notify::' + prop, self._on_state, prop)
        webrtc.connect('pad-added', self._on_pad_added)

        caps = 'application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,encoding-params=(string)2,payload=%d' % pt
        if audio == 'send':
            ssrc = int(params['ssrc'])
            src = Gst.parse_bin_from_description(
                'audiotestsrc is-live=true wave=sine freq=440 volume=0.3 ! audioconvert ! audioresample '
                '! audio/x-raw,rate=48000,channels=2 ! opusenc bitrate=32000 '
                '! rtpopuspay pt=%d ssrc=%d ! valve name=mute drop=false' % (pt, ssrc),
                True,
            )
            self.pipeline.add(src)
            self.valve = src.get_by_name('mute')
            src_pad = src.get_static_pad('src')
            src_pad.add_probe(Gst.PadProbeType.BUFFER, self._count_rtp)
            sink = webrtc.request_pad_simple('sink_%u')
            if src_pad.link(sink) != Gst.PadLinkReturn.OK:
                raise RuntimeError('could not link the audio source to webrtcbin')
            transceiver = sink.get_property('transceiver')
            transceiver.set_property('direction', GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
            # The payloader's caps come only once data flows: the codec preference lets the offer
            # be made at once.
            transceiver.set_property('codec-preferences', Gst.Caps.from_string(caps))
            self.keep.append(transceiver)
        elif audio == 'recv':
            webrtc.emit(
                'add-transceiver',
                GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY,
                Gst.Caps.from_string(caps),
            )
        elif audio is not None:
            raise RuntimeError('audio must be send, recv or absent, not %r' % (audio,))

        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect('message::error', self._on_bus_error)
        bus.connect('message::warning', self._on_bus_warning)
        if self.pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            raise RuntimeError('pipeline refused PLAYING')

        if data:
            config = Gst.Structure.new_from_string('config,negotiated=(boolean)true,id=(int)0,ordered=(boolean)true')
            self.channel = webrtc.emit('create-data-channel', 'up', config)
            if self.channel is None:
                raise RuntimeError('create-data-channel returned nothing')
            self.channel.connect('on-open', lambda _ch: emit('channelopen', label='up'))
            self.channel.connect('on-close', lambda _ch: emit('channelclose', label='up'))
            self.channel.connect('on-error', lambda _ch, err: emit('fault', message='data channel: %s' % err))

        def on_offer(promise, _data):
            try:
                reply_struct = promise.get_reply()
                offer = reply_struct.get_value('offer')
                if offer is None:
                    raise RuntimeError('create-offer gave no offer: %s' % reply_struct.to_string())
                set_promise = Gst.Promise.new()
                webrtc.emit('set-local-description', offer, set_promise)
                set_promise.interrupt()
                reply(None, {'sdp': offer.sdp.as_text()})
            except Exception as error:  # noqa: BLE001
                reply(error, None)

        webrtc.emit('create-offer', None, Gst.Promise.new_with_change_func(on_offer, None))

    def _count_rtp(self, _pad, _info):
        if self.valve is not None and not self.valve.get_property('drop'):
            self.rtp_packets_sent += 1
        return Gst.PadProbeReturn.OK

    def _on_state(self, element, _pspec, prop):
        emit('state', name=prop, state=enum_name(element.get_property(prop)))

    def _on_pad_added(self, _element, pad):
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        # Incoming media: drop it (the tests need only that it arrives, which the worker counts).
        sink = Gst.ElementFactory.make('fakesink')
        sink.set_property('async', False)
        sink.set_property('sync', False)
        self.pipeline.add(sink)
        sink.sync_state_with_parent()
        pad.link(sink.get_static_pad('sink'))
        emit('padadded', name=pad.get_name())

    def _on_bus_error(self, _bus, message):
        error, debug = message.parse_error()
        emit('fault', message='%s: %s (%s)' % (message.src.get_name(), error.message, debug))

    def _on_bus_warning(self, _bus, message):
        warning, debug = message.parse_warning()
        emit('warning', message='%s: %s (%s)' % (message.src.get_name(), warning.message, debug))

    # -- answer --------------------------------------------------------------------------------------

    def answer(self, params, reply):
        webrtc = self._webrtc()
        ok, sdp = GstSdp.SDPMessage.new_from_text(params['sdp'])
        if ok != GstSdp.SDPResult.OK:
            raise RuntimeError('could not parse the answer SDP')
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, sdp)

        def on_set(promise, _data):
            try:
                result = promise.wait()
                reply_struct = promise.get_reply()
                if result != Gst.PromiseResult.REPLIED or (reply_struct is not None and reply_struct.has_field('error')):
                    raise RuntimeError('set-remote-description failed: %s' % (reply_struct.to_string() if reply_struct else result))
                self._watch_rtcp()
                # webrtcbin takes no candidates from a remote description in 1.22: add the server's.
                for line in params['sdp'].splitlines():
                    if line.startswith('a=candidate:'):
                        webrtc.emit('add-ice-candidate', 0, line[2:])
                reply(None, {'dtlsRole': self._dtls_role()})
            except Exception as error:  # noqa: BLE001
                reply(error, None)

        webrtc.emit('set-remote-description', answer, Gst.Promise.new_with_change_func(on_set, None))

    def _watch_rtcp(self):
        """Reports each RTCP BYE the RTP session sends (an 'rtcpbye' event), read from its compound packets."""
        rtpbin = self._webrtc().get_by_name('rtpbin')
        session = rtpbin.emit('get-internal-session', 0) if rtpbin is not None else None
        if session is None:
            return
        self.keep.append(session)

        def on_sending(_session, buffer, _early):
            self.rtcp_sent += 1
            ok, info = buffer.map(Gst.MapFlags.READ)
            if not ok:
                return False
            try:
                data = bytes(info.data)
            finally:
                buffer.unmap(info)
            offset, types = 0, []
            while offset + 4 <= len(data):
                types.append(data[offset + 1])
                offset += 4 * (((data[offset + 2] << 8) | data[offset + 3]) + 1)
            if 203 in types:
                GLib.idle_add(lambda: emit('rtcpbye', packetTypes=types) and False)
            return False

        session.connect('on-sending-rtcp', on_sending)

    def _dtls_role(self):
        webrtc = self._webrtc()
        transport = None
        transceiver = webrtc.emit('get-transceiver', 0)
        if transceiver is not None:
            transport = transceiver.get_property('receiver').get_property('transport')
        else:
            sctp = webrtc.get_property('sctp-transport')
            self.keep.append(sctp)  # the same floating-reference trap as the ICE agent
            if sctp is not None:
                transport = sctp.get_property('transport')
        if transport is None:
            return 'unknown'
        self.keep.append(transport)
        return 'client' if transport.get_property('client') else 'server'

    def _webrtc(self):
        if self.webrtc is None:
            raise RuntimeError('no webrtcbin yet: call offer first')
        return self.webrtc

    # -- the rest ------------------------------------------------------------------------------------

    def mute(self, params):
        if self.valve is None:
            raise RuntimeError('mute needs a sending peer (offer with audio: send)')
        self.valve.set_property('drop', bool(params['muted']))
        return {'muted': self.valve.get_property('drop'), 'rtpPacketsSent': self.rtp_packets_sent}

    def hangup(self, params, reply):
        """Pipeline to NULL, as an app hanging up: no DTLS close_notify. With eos, an EOS is sent into
        the pipeline first and the NULL follows eos_wait_ms later (the encoder's last RTP packet goes
        out). Measured on 1.22: neither way sends an RTCP BYE ('rtcpbye' events stay empty)."""
        started = time.monotonic()

        def finish():
            if self.pipeline is not None:
                self.pipeline.set_state(Gst.State.NULL)
            self.hung_up = True
            reply(None, {'ms': round((time.monotonic() - started) * 1000)})
            return False

        if params.get('eos') and self.pipeline is not None:
            self.pipeline.send_event(Gst.Event.new_eos())
            GLib.timeout_add(int(params.get('eosWaitMs', 300)), finish)
        else:
            finish()

    def state(self, _params):
        webrtc = self._webrtc()
        channel = None
        if self.channel is not None:
            channel = enum_name(self.channel.get_property('ready-state'))
        return {
            'connectionState': enum_name(webrtc.get_property('connection-state')),
            'iceConnectionState': enum_name(webrtc.get_property('ice-connection-state')),
            'channel': channel,
            'muted': self.valve.get_property('drop') if self.valve is not None else None,
            'rtpPacketsSent': self.rtp_packets_sent,
            'rtcpCompoundsSent': self.rtcp_sent,
            'hungUp': self.hung_up,
        }


peer = Peer()
SYNC = {'mute': peer.mute, 'state': peer.state}
ASYNC = {'offer': peer.offer, 'answer': peer.answer, 'hangup': peer.hangup}


def handle(line):
    try:
        request = json.loads(line)
    except ValueError:
        emit('fault', message='not JSON: %r' % line)
        return
    rid = request.get('id')
    method = request.get('method')
    params = request.get('params') or {}

    def reply(error, result):
        # Promise callbacks run on GStreamer's threads: answer from the main loop.
        def send():
            if error is None:
                write({'kind': 'result', 'id': rid, 'result': result})
            else:
                write({'kind': 'error', 'id': rid, 'message': ''.join(traceback.format_exception(error))})
            return False

        GLib.idle_add(send)

    try:
        if method == 'close':
            if peer.pipeline is not None:
                peer.pipeline.set_state(Gst.State.NULL)
            write({'kind': 'result', 'id': rid, 'result': {}})
            loop.quit()
        elif method in SYNC:
            write({'kind': 'result', 'id': rid, 'result': SYNC[method](params)})
        elif method in ASYNC:
            ASYNC[method](params, reply)
        else:
            raise RuntimeError('unknown method %r' % (method,))
    except Exception:  # noqa: BLE001
        write({'kind': 'error', 'id': rid, 'message': traceback.format_exc()})


buffered = b''


def on_stdin(fd, condition):
    global buffered
    if condition & GLib.IOCondition.IN:
        chunk = os.read(fd, 65536)
        if chunk:
            buffered += chunk
            while b'\n' in buffered:
                line, buffered = buffered.split(b'\n', 1)
                if line.strip():
                    handle(line.decode('utf8'))
            return True
    # The parent went away (stdin closed): never outlive it.
    loop.quit()
    return False


GLib.io_add_watch(sys.stdin.fileno(), GLib.PRIORITY_DEFAULT, GLib.IOCondition.IN | GLib.IOCondition.HUP, on_stdin)
write({'kind': 'ready', 'gstreamer': Gst.version_string(), 'startMs': round((time.monotonic() - STARTED) * 1000)})
loop.run()
if peer.pipeline is not None:
    peer.pipeline.set_state(Gst.State.NULL)
sys.stdout.flush()
os._exit(0)
