//! The MediaStreamRegistry picks the stream type for offered m-lines (the seed's SDP
//! examples for each kind), and each stream answers and offers its m-line (RFC 3264,
//! RFC 4975 §8, RFC 5547, RFC 6135).

use sipsimple::sdp::{Direction, MediaType, SessionDescription, Setup};
use sipsimple::stream::{
    AudioStream, ChatStream, FileTransferStream, MediaStream, MediaStreamRegistry, StreamConfig,
    StreamFactory, AUDIO, CHAT, DESKTOP_SHARING, FILE_TRANSFER,
};
use sipsimple::ua::SessionDirection;

fn sdp(media: &str) -> SessionDescription {
    format!("v=0\r\no=- 3467525278 3467525278 IN IP4 192.168.1.6\r\ns=blink\r\nc=IN IP4 192.168.1.6\r\nt=0 0\r\n{media}")
        .parse()
        .expect("a valid SDP")
}

const AUDIO_M: &str = "m=audio 55328 RTP/AVP 104 3 9 0 8 101\r\na=rtpmap:104 speex/32000\r\n\
a=rtpmap:3 GSM/8000\r\na=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n";
const CHAT_M: &str = "m=message 2855 TCP/TLS/MSRP *\r\n\
a=path:msrps://192.168.1.6:2855/ca7940f12ddef14c3c32;tcp\r\n\
a=accept-types:message/cpim text/* application/im-iscomposing+xml\r\na=accept-wrapped-types:*\r\n";
const FILE_M: &str = "m=message 2855 TCP/TLS/MSRP *\r\n\
a=path:msrps://192.168.1.6:2855/e593357dc9abe90754bd;tcp\r\na=sendonly\r\na=accept-types:*\r\n\
a=accept-wrapped-types:*\r\na=file-selector:name:\"reblink.pdf\" type:com.adobe.pdf size:268759\r\n";
const DESKTOP_M: &str = "m=application 2855 TCP/TLS/MSRP *\r\n\
a=path:msrps://10.0.1.19:2855/b599b22d1b1d6a3324c8;tcp\r\na=accept-types:application/x-rfb\r\n\
a=setup:active\r\n";
const VIDEO_M: &str = "m=video 51372 RTP/AVP 31\r\n";

fn cfg() -> StreamConfig {
    StreamConfig::new("b.invalid", "s1")
}

#[test]
fn each_kind_goes_to_its_stream_type() {
    let r = MediaStreamRegistry::with_defaults();
    assert_eq!(r.types(), [FILE_TRANSFER, DESKTOP_SHARING, AUDIO, CHAT]);
    let offer = sdp(&format!("{AUDIO_M}{CHAT_M}{FILE_M}{DESKTOP_M}{VIDEO_M}"));
    let picked: Vec<Option<&str>> = (0..5).map(|i| r.classify(&offer, i)).collect();
    assert_eq!(
        picked,
        [
            Some(AUDIO),
            Some(CHAT),
            Some(FILE_TRANSFER),
            Some(DESKTOP_SHARING),
            None
        ]
    );
    for (i, want) in [AUDIO, CHAT, FILE_TRANSFER, DESKTOP_SHARING]
        .iter()
        .enumerate()
    {
        let s = r.new_from_sdp(&cfg(), &offer, i).expect("a stream");
        assert_eq!(s.stream_type(), *want);
    }
    assert!(
        r.new_from_sdp(&cfg(), &offer, 4).is_none(),
        "video: no type"
    );
    assert!(
        r.new_from_sdp(&cfg(), &offer, 9).is_none(),
        "no such m-line"
    );
}

#[test]
fn the_file_selector_wins_over_chat_by_priority() {
    // A file offer whose accept-types would also suit a chat.
    let both = FILE_M.replace("a=accept-types:*", "a=accept-types:text/plain");
    let offer = sdp(&both);
    let r = MediaStreamRegistry::with_defaults();
    assert_eq!(r.classify(&offer, 0), Some(FILE_TRANSFER));
    // Chat itself leaves file offers alone: without file transfer, nothing takes it.
    let mut chat_only = MediaStreamRegistry::new();
    chat_only.register(ChatStream::FACTORY);
    assert_eq!(chat_only.classify(&offer, 0), None);
    // Priority decides between types that both accept: a second "chat" type with a higher
    // priority replaces nothing but is tried first.
    let mut two = MediaStreamRegistry::new();
    two.register(ChatStream::FACTORY);
    two.register(StreamFactory {
        stream_type: "fancy-chat",
        priority: 5,
        ..ChatStream::FACTORY
    });
    assert_eq!(two.classify(&sdp(CHAT_M), 0), Some("fancy-chat"));
    // Nothing takes a rejected m-line.
    let mut rejected = sdp(CHAT_M);
    rejected.media[0].reject();
    assert!(r.new_from_sdp(&cfg(), &rejected, 0).is_none());
}

#[test]
fn audio_answers_with_the_common_codecs_and_holds_by_direction() {
    let offer = sdp(AUDIO_M);
    let mut s = AudioStream::from_offer(&cfg(), &offer, 0).expect("G.711 in common");
    let answer = s.get_local_media(false);
    assert_eq!(answer.media, MediaType::Audio);
    assert_eq!(answer.formats, ["0", "8", "101"]);
    assert_eq!(answer.direction(), Some(Direction::SendRecv));
    s.hold();
    assert!(s.on_hold_by_local() && s.on_hold() && s.hold_supported());
    assert_eq!(
        s.get_local_media(false).direction(),
        Some(Direction::SendOnly)
    );
    assert_eq!(
        s.get_local_media(true).direction(),
        Some(Direction::SendOnly)
    );
    // Started against the answer, it knows the codecs in effect.
    let local = sdp(&{
        let mut b = Vec::new();
        answer.encode(&mut b);
        String::from_utf8(b).expect("text")
    });
    s.initialize(SessionDirection::Incoming);
    s.start(&local, &offer, 0);
    assert_eq!(s.codecs(), ["PCMU", "PCMA"]);
    let names: Vec<String> = std::iter::from_fn(|| s.poll_event())
        .map(|e| e.to_event("audio").name().to_string())
        .collect();
    assert_eq!(names, ["MediaStreamDidInitialize", "MediaStreamDidStart"]);
    // Only speex and GSM: nothing in common.
    let speex = sdp("m=audio 5 RTP/AVP 104 3\r\na=rtpmap:104 speex/32000\r\n");
    assert!(AudioStream::from_offer(&cfg(), &speex, 0).is_err());
}

#[test]
fn msrp_streams_answer_with_their_path_types_and_setup() {
    let r = MediaStreamRegistry::with_defaults();
    let chat = r.new_from_sdp(&cfg(), &sdp(CHAT_M), 0).expect("chat");
    let m = chat.get_local_media(false);
    assert_eq!(m.media, MediaType::Message);
    assert_eq!(m.proto, "TCP/TLS/MSRP");
    assert_eq!(m.msrp_path(), ["msrps://b.invalid:2855/s1;tcp"]);
    assert_eq!(m.accept_types(), ["message/cpim", "text/plain"]);
    assert_eq!(m.accept_wrapped_types(), ["*"]);
    // No setup offered: the offerer connects (RFC 6135 §4.1), we wait.
    assert_eq!(m.setup(), Some(Setup::Passive));
    assert!(!chat.hold_supported());
    // Our chat offer.
    let ours = r.create(CHAT, &cfg()).expect("chat").get_local_media(true);
    assert_eq!(ours.setup(), Some(Setup::Active));
    assert_eq!(ours.direction(), Some(Direction::SendRecv));
    // The receiver of a file echoes its selector and receives only.
    let file = r.new_from_sdp(&cfg(), &sdp(FILE_M), 0).expect("file");
    let m = file.get_local_media(false);
    assert!(m.file_selector().is_some_and(|f| f.contains("reblink.pdf")));
    assert_eq!(m.direction(), Some(Direction::RecvOnly));
    let sending = FileTransferStream::sending(&cfg(), "name:\"a.txt\" size:3");
    assert_eq!(
        sending.get_local_media(true).direction(),
        Some(Direction::SendOnly)
    );
    // Desktop sharing answers an m=application line in kind, passive to an active offer.
    let vnc = r.new_from_sdp(&cfg(), &sdp(DESKTOP_M), 0).expect("desktop");
    let m = vnc.get_local_media(false);
    assert_eq!(m.media, MediaType::Application);
    assert_eq!(m.accept_types(), ["application/x-rfb"]);
    assert_eq!(m.setup(), Some(Setup::Passive));
}
