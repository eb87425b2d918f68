//! The RFB client against hand-built server byte streams (RFC 6143's message layouts).

use super::*;
use miniz_oxide::deflate::core::CompressorOxide;
use miniz_oxide::deflate::stream::deflate;
use miniz_oxide::MZFlush;

/// A ServerInit for a `w` × `h` desktop named `name` (the pixel format is ignored).
fn server_init(w: u16, h: u16, name: &str) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend(w.to_be_bytes());
    b.extend(h.to_be_bytes());
    b.extend([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]);
    b.extend((name.len() as u32).to_be_bytes());
    b.extend(name.as_bytes());
    b
}

fn drain(c: &mut Client) -> (Vec<Vec<u8>>, Vec<Event>) {
    let (mut tx, mut ev) = (Vec::new(), Vec::new());
    while let Some(o) = c.poll_output() {
        match o {
            Output::Transmit(b) => tx.push(b),
            Output::Event(e) => ev.push(e),
        }
    }
    (tx, ev)
}

/// A client through the 3.8 handshake with a `w` × `h` desktop; its outputs drained.
fn connected(w: u16, h: u16) -> Client {
    let mut c = Client::default();
    c.handle_input(b"RFB 003.008\n\x01\x01\0\0\0\0")
        .expect("handshake");
    c.handle_input(&server_init(w, h, "desk")).expect("init");
    drain(&mut c);
    c
}

fn rect_header(x: u16, y: u16, w: u16, h: u16, enc: i32) -> Vec<u8> {
    let mut b = Vec::new();
    for v in [x, y, w, h] {
        b.extend(v.to_be_bytes());
    }
    b.extend(enc.to_be_bytes());
    b
}

fn update(rects: &[Vec<u8>]) -> Vec<u8> {
    let mut b = vec![0, 0];
    b.extend((rects.len() as u16).to_be_bytes());
    for r in rects {
        b.extend(r);
    }
    b
}

fn pixel(c: &Client, x: usize, y: usize) -> [u8; 4] {
    let i = (y * usize::from(c.width()) + x) * 4;
    let p = &c.framebuffer()[i..i + 4];
    [p[0], p[1], p[2], p[3]]
}

#[test]
fn handshake_3_8_with_security_none() {
    let mut c = Client::default();
    c.handle_input(b"RFB 003.008\n").expect("version");
    assert_eq!(drain(&mut c).0, vec![b"RFB 003.008\n".to_vec()]);
    // Security types VNC (2) and None (1): None is chosen.
    c.handle_input(&[2, 2, 1]).expect("types");
    assert_eq!(drain(&mut c).0, vec![vec![1]]);
    c.handle_input(&[0, 0, 0, 0]).expect("result");
    assert_eq!(drain(&mut c).0, vec![vec![1]], "ClientInit, shared");
    assert!(!c.is_connected());
    c.handle_input(&server_init(640, 480, "Xvnc desktop"))
        .expect("init");
    let (tx, ev) = drain(&mut c);
    assert_eq!(
        ev,
        vec![Event::Connected {
            width: 640,
            height: 480,
            name: "Xvnc desktop".into()
        }]
    );
    assert_eq!(
        tx[0],
        [0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16, 0, 0, 0],
        "SetPixelFormat RGBX"
    );
    let mut enc = vec![2, 0, 0, 6];
    for e in [16i32, 1, 0, -223, -224, -239] {
        enc.extend(e.to_be_bytes());
    }
    assert_eq!(tx[1], enc, "SetEncodings");
    assert_eq!(tx[2], [3, 0, 0, 0, 0, 0, 2, 128, 1, 224], "a full update");
    assert!(c.is_connected());
    assert_eq!(
        (c.width(), c.height(), c.name()),
        (640, 480, "Xvnc desktop")
    );
    assert_eq!(pixel(&c, 639, 479), [0, 0, 0, 255], "black at first");
}

#[test]
fn older_servers_are_answered_in_their_version() {
    let mut c = Client::default();
    c.handle_input(b"RFB 003.003\n\0\0\0\x01").expect("3.3");
    assert_eq!(drain(&mut c).0, vec![b"RFB 003.003\n".to_vec(), vec![1]]);
    let mut c = Client::default();
    c.handle_input(b"RFB 003.007\n\x01\x01").expect("3.7");
    let tx = drain(&mut c).0;
    assert_eq!(tx, vec![b"RFB 003.007\n".to_vec(), vec![1], vec![1]]);
    c.handle_input(&server_init(8, 8, "x")).expect("init");
    assert!(c.is_connected());
}

#[test]
fn handshake_failures_are_errors() {
    let mut c = Client::default();
    assert!(matches!(
        c.handle_input(b"HTTP/1.1 200"),
        Err(Error::Version(_))
    ));
    // The same error for anything fed afterwards.
    assert!(matches!(c.handle_input(b"x"), Err(Error::Version(_))));
    let mut c = Client::default();
    assert_eq!(
        c.handle_input(b"RFB 003.008\n\x01\x10"),
        Err(Error::NoSecurity(vec![16]))
    );
    let mut c = Client::default();
    let mut b = b"RFB 003.008\n\x00\0\0\0\x04busy".to_vec();
    assert_eq!(c.handle_input(&b), Err(Error::Refused("busy".into())));
    let mut c = Client::default();
    b = b"RFB 003.008\n\x01\x01\0\0\0\x01\0\0\0\x02no".to_vec();
    assert_eq!(c.handle_input(&b), Err(Error::Refused("no".into())));
    let mut c = Client::new(Config {
        max_pixels: 100,
        ..Config::default()
    });
    c.handle_input(b"RFB 003.008\n\x01\x01\0\0\0\0")
        .expect("handshake");
    assert_eq!(
        c.handle_input(&server_init(11, 10, "")),
        Err(Error::TooLarge {
            width: 11,
            height: 10
        })
    );
}

#[test]
fn raw_rectangles_fill_the_framebuffer_and_ask_for_more() {
    let mut c = connected(4, 3);
    let mut r = rect_header(1, 1, 2, 1, ENCODING_RAW);
    r.extend([10, 20, 30, 0, 40, 50, 60, 0]);
    c.handle_input(&update(&[r])).expect("update");
    let (tx, ev) = drain(&mut c);
    assert_eq!(
        ev,
        vec![
            Event::Updated {
                x: 1,
                y: 1,
                width: 2,
                height: 1
            },
            Event::UpdateDone
        ]
    );
    assert_eq!(tx, vec![vec![3, 1, 0, 0, 0, 0, 0, 4, 0, 3]], "incremental");
    assert_eq!(pixel(&c, 1, 1), [10, 20, 30, 255]);
    assert_eq!(pixel(&c, 2, 1), [40, 50, 60, 255]);
    assert_eq!(pixel(&c, 3, 1), [0, 0, 0, 255]);
    assert_eq!(c.rect_rgba(1, 1, 2, 1), [10, 20, 30, 255, 40, 50, 60, 255]);
    // Clipped to the framebuffer.
    assert_eq!(c.rect_rgba(3, 2, 5, 5).len(), 4);
}

#[test]
fn bytes_one_at_a_time_give_the_same_result() {
    let stream = {
        let mut s = b"RFB 003.008\n\x01\x01\0\0\0\0".to_vec();
        s.extend(server_init(3, 2, "d"));
        let mut r = rect_header(0, 0, 3, 2, ENCODING_RAW);
        r.extend((0..24).map(|i| i as u8));
        s.extend(update(&[r]));
        s.extend([2]); // Bell
        s
    };
    let mut whole = Client::default();
    whole.handle_input(&stream).expect("whole");
    let mut bytes = Client::default();
    for b in &stream {
        bytes.handle_input(&[*b]).expect("byte");
    }
    assert_eq!(whole.framebuffer(), bytes.framebuffer());
    assert_eq!(drain(&mut whole), drain(&mut bytes));
}

#[test]
fn copy_rect_overlapping() {
    let mut c = connected(4, 4);
    let mut r = rect_header(0, 0, 4, 4, ENCODING_RAW);
    for i in 0..16u8 {
        r.extend([i, 0, 0, 0]);
    }
    c.handle_input(&update(&[r])).expect("raw");
    // Move the top-left 3x3 one down and right (overlapping).
    let mut cr = rect_header(1, 1, 3, 3, ENCODING_COPY_RECT);
    cr.extend([0, 0, 0, 0]);
    c.handle_input(&update(&[cr])).expect("copy");
    let reds: Vec<u8> = (0..16).map(|i| pixel(&c, i % 4, i / 4)[0]).collect();
    assert_eq!(reds, [0, 1, 2, 3, 4, 0, 1, 2, 8, 4, 5, 6, 12, 8, 9, 10]);
    // And back up-left.
    let mut cr = rect_header(0, 0, 3, 3, ENCODING_COPY_RECT);
    cr.extend([0, 1, 0, 1]);
    c.handle_input(&update(&[cr])).expect("copy back");
    let reds: Vec<u8> = (0..16).map(|i| pixel(&c, i % 4, i / 4)[0]).collect();
    assert_eq!(reds, [0, 1, 2, 3, 4, 5, 6, 2, 8, 9, 10, 6, 12, 8, 9, 10]);
    let mut bad = rect_header(0, 0, 2, 2, ENCODING_COPY_RECT);
    bad.extend([0, 3, 0, 0]);
    assert_eq!(c.handle_input(&update(&[bad])), Err(Error::OutOfBounds));
}

/// A zlib stream as a VNC server keeps it: one per connection, sync-flushed per rectangle.
struct Deflater(Box<CompressorOxide>);

impl Deflater {
    fn new() -> Deflater {
        let mut c = Box::<CompressorOxide>::default();
        c.set_format_and_level(miniz_oxide::DataFormat::Zlib, 6);
        Deflater(c)
    }

    fn rect(&mut self, raw: &[u8]) -> Vec<u8> {
        let mut out = vec![0; raw.len() * 2 + 64];
        let r = deflate(&mut self.0, raw, &mut out, MZFlush::Sync);
        assert_eq!(r.bytes_consumed, raw.len());
        out.truncate(r.bytes_written);
        out
    }
}

fn zrle_rect(z: &mut Deflater, x: u16, y: u16, w: u16, h: u16, raw: &[u8]) -> Vec<u8> {
    let data = z.rect(raw);
    let mut r = rect_header(x, y, w, h, ENCODING_ZRLE);
    r.extend((data.len() as u32).to_be_bytes());
    r.extend(data);
    r
}

#[test]
fn zrle_subencodings_over_one_zlib_stream() {
    let mut c = connected(70, 4);
    let mut z = Deflater::new();
    // 70 wide: two tiles, 64x4 and 6x4. The first solid red, the second raw CPIXELs.
    let mut raw = vec![1, 255, 0, 0];
    raw.push(0);
    for i in 0..24u8 {
        raw.extend([i, 2 * i, 3 * i]);
    }
    let r1 = zrle_rect(&mut z, 0, 0, 70, 4, &raw);
    c.handle_input(&update(&[r1])).expect("first");
    assert_eq!(pixel(&c, 63, 3), [255, 0, 0, 255]);
    assert_eq!(pixel(&c, 64, 0), [0, 0, 0, 255]);
    assert_eq!(pixel(&c, 65, 0), [1, 2, 3, 255]);
    assert_eq!(pixel(&c, 69, 3), [23, 46, 69, 255]);

    // The same stream goes on: packed palette (2 colours, 1 bit), plain RLE, palette RLE.
    let mut raw = vec![2, 0, 0, 255, 0, 255, 0];
    raw.extend([0b0101_0000, 0b1010_0000]); // 4x2: rows 0101, 1010
    let r2 = zrle_rect(&mut z, 0, 0, 4, 2, &raw);
    // Plain RLE on 3x1: one white run of 2, one grey of 1.
    let r3 = zrle_rect(&mut z, 0, 2, 3, 1, &[128, 255, 255, 255, 1, 9, 9, 9, 0]);
    // Palette RLE (2 colours) on 5x1: index 1 run 3, index 0 single, index 1 single.
    let r4 = zrle_rect(
        &mut z,
        0,
        3,
        5,
        1,
        &[130, 7, 7, 7, 8, 8, 8, 128 | 1, 2, 0, 1],
    );
    c.handle_input(&update(&[r2, r3, r4])).expect("second");
    let col = |x, y| pixel(&c, x, y);
    assert_eq!(
        [col(0, 0), col(1, 0), col(0, 1), col(1, 1)],
        [
            [0, 0, 255, 255],
            [0, 255, 0, 255],
            [0, 255, 0, 255],
            [0, 0, 255, 255]
        ]
    );
    assert_eq!(
        [col(0, 2), col(1, 2), col(2, 2)],
        [[255, 255, 255, 255], [255, 255, 255, 255], [9, 9, 9, 255]]
    );
    assert_eq!(
        [col(0, 3), col(2, 3), col(3, 3), col(4, 3)],
        [
            [8, 8, 8, 255],
            [8, 8, 8, 255],
            [7, 7, 7, 255],
            [8, 8, 8, 255]
        ]
    );
}

#[test]
fn malformed_zrle_is_an_error() {
    // A run longer than its tile.
    let mut c = connected(4, 1);
    let mut z = Deflater::new();
    let r = zrle_rect(&mut z, 0, 0, 4, 1, &[128, 1, 1, 1, 9]);
    assert!(matches!(c.handle_input(&update(&[r])), Err(Error::Zrle(_))));
    // Not zlib at all.
    let mut c = connected(4, 1);
    let mut r = rect_header(0, 0, 4, 1, ENCODING_ZRLE);
    r.extend(4u32.to_be_bytes());
    r.extend([0xff, 0xff, 0xff, 0xff]);
    assert!(matches!(c.handle_input(&update(&[r])), Err(Error::Zrle(_))));
    // A palette index beyond the palette.
    let mut c = connected(4, 1);
    let mut z = Deflater::new();
    let r = zrle_rect(&mut z, 0, 0, 4, 1, &[130, 1, 1, 1, 2, 2, 2, 5]);
    assert!(matches!(c.handle_input(&update(&[r])), Err(Error::Zrle(_))));
    // A length beyond what the rectangle can take.
    let mut c = connected(4, 1);
    let mut r = rect_header(0, 0, 4, 1, ENCODING_ZRLE);
    r.extend(u32::MAX.to_be_bytes());
    assert_eq!(
        c.handle_input(&update(&[r])),
        Err(Error::Length("the ZRLE data"))
    );
}

#[test]
fn out_of_bounds_and_unknown_things_are_errors() {
    let mut c = connected(4, 4);
    let r = rect_header(3, 0, 2, 1, ENCODING_RAW);
    assert_eq!(c.handle_input(&update(&[r])), Err(Error::OutOfBounds));
    let mut c = connected(4, 4);
    let r = rect_header(0, 0, 1, 1, 7);
    assert_eq!(c.handle_input(&update(&[r])), Err(Error::Encoding(7)));
    let mut c = connected(4, 4);
    assert_eq!(c.handle_input(&[99]), Err(Error::MessageType(99)));
}

#[test]
fn desktop_size_last_rect_bell_cut_text_and_colour_map() {
    let mut c = connected(4, 4);
    let mut b = update(&[
        rect_header(0, 0, 8, 2, ENCODING_DESKTOP_SIZE),
        rect_header(0, 0, 0, 0, ENCODING_LAST_RECT),
    ]);
    // The count said 2 but LastRect ends it anyway; make it 0xffff to check.
    b[2] = 0xff;
    b[3] = 0xff;
    b.push(2);
    b.extend([3, 0, 0, 0, 0, 0, 0, 3, b'a', 0xe9, b'c']);
    b.extend([1, 0, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6]);
    c.handle_input(&b).expect("messages");
    let (tx, ev) = drain(&mut c);
    assert_eq!(
        ev,
        vec![
            Event::Resized {
                width: 8,
                height: 2
            },
            Event::UpdateDone,
            Event::Bell,
            Event::CutText("aéc".into())
        ]
    );
    assert_eq!(tx, vec![vec![3, 1, 0, 0, 0, 0, 0, 8, 0, 2]]);
    assert_eq!(c.framebuffer().len(), 8 * 2 * 4);
    // A huge cut text is skipped, not kept.
    let mut b = vec![3, 0, 0, 0];
    b.extend(1_000_000u32.to_be_bytes());
    c.handle_input(&b).expect("cut text head");
    c.handle_input(&vec![b'x'; 1_000_000]).expect("skipped");
    c.handle_input(&[2]).expect("bell");
    assert_eq!(drain(&mut c).1, vec![Event::Bell]);
}

#[test]
fn pointer_and_key_events() {
    let mut c = Client::default();
    c.pointer_event(1, 1, 1);
    assert!(c.poll_output().is_none(), "nothing before the handshake");
    let mut c = connected(100, 50);
    c.pointer_event(10, 20, 1);
    c.pointer_event(500, 500, 0);
    c.key_event(0xff0d, true);
    c.key_event(0x61, false);
    c.cut_text("hé€");
    let tx = drain(&mut c).0;
    assert_eq!(
        tx,
        vec![
            vec![5, 1, 0, 10, 0, 20],
            vec![5, 0, 0, 99, 0, 49],
            vec![4, 1, 0, 0, 0, 0, 0xff, 0x0d],
            vec![4, 0, 0, 0, 0, 0, 0, 0x61],
            vec![6, 0, 0, 0, 0, 0, 0, 3, b'h', 0xe9, b'?'],
        ]
    );
}

/// Found by the `rfb` fuzz target: the error for a server that is not RFB must not depend
/// on how its bytes were cut.
#[test]
fn a_wrong_greeting_fails_the_same_however_cut() {
    let mut whole = Client::default();
    let e = whole.handle_input(b"\n\n").expect_err("not RFB");
    let mut cut = Client::default();
    assert_eq!(cut.handle_input(b"\n"), Err(e.clone()));
    assert_eq!(e, Error::Version("\n".into()));
    let mut c = Client::default();
    c.handle_input(b"RF").expect("a prefix of RFB");
    assert_eq!(
        c.handle_input(b"x 003.008\n"),
        Err(Error::Version("RFx".into()))
    );
}

/// Found by the `rfb` fuzz target: empty rectangles (no width, or no height) of every
/// encoding are harmless.
#[test]
fn empty_rectangles() {
    let mut c = connected(4, 4);
    let mut z = Deflater::new();
    let mut copy = rect_header(0, 0, 0, 3, ENCODING_COPY_RECT);
    copy.extend([0, 1, 0, 1]);
    let rects = [
        rect_header(1, 1, 0, 3, ENCODING_RAW),
        rect_header(1, 1, 3, 0, ENCODING_RAW),
        copy,
        zrle_rect(&mut z, 2, 2, 0, 2, &[]),
    ];
    c.handle_input(&update(&rects)).expect("empty rectangles");
    let (_, ev) = drain(&mut c);
    assert_eq!(ev, vec![Event::UpdateDone], "nothing drawn");
}

/// VNC Authentication's answer for a known challenge, checked against OpenSSL's DES
/// (`openssl enc -des-ecb -K cea6c64ea62e0000 -nopad` over bytes 0..16: the key is
/// "secret" zero-padded with each byte's bits mirrored).
#[test]
fn vnc_auth_response_matches_des_with_mirrored_key_bits() {
    let mut challenge: [u8; 16] = std::array::from_fn(|i| i as u8);
    vnc_auth_response("secret", &mut challenge);
    let expected = [
        0xee, 0x22, 0x53, 0x9f, 0x33, 0xa5, 0x98, 0x3e, 0xc1, 0x2f, 0x9c, 0x2e, 0xdb, 0xc9, 0x95,
        0xdd,
    ];
    assert_eq!(challenge, expected);
    // Only the first 8 bytes of a password count.
    let mut long: [u8; 16] = std::array::from_fn(|i| i as u8);
    let mut cut = long;
    vnc_auth_response("abcdefgh-and-more", &mut long);
    vnc_auth_response("abcdefgh", &mut cut);
    assert_eq!(long, cut);
}

#[test]
fn vnc_authentication_in_3_8_and_3_3() {
    // 3.8: only VNC Authentication (2) offered; with a password the client picks it.
    let mut c = Client::default();
    c.set_password("secret");
    c.handle_input(b"RFB 003.008\n\x01\x02").expect("types");
    let (tx, _) = drain(&mut c);
    assert_eq!(tx, vec![b"RFB 003.008\n".to_vec(), vec![2]]);
    let challenge: Vec<u8> = (0u8..16).collect();
    c.handle_input(&challenge).expect("challenge");
    let (tx, _) = drain(&mut c);
    let mut expected: [u8; 16] = std::array::from_fn(|i| i as u8);
    vnc_auth_response("secret", &mut expected);
    assert_eq!(tx, vec![expected.to_vec()]);
    c.handle_input(&[0, 0, 0, 0]).expect("result");
    c.handle_input(&server_init(4, 2, "desk")).expect("init");
    assert!(c.is_connected());

    // None is preferred when offered beside it.
    let mut c = Client::default();
    c.set_password("secret");
    c.handle_input(b"RFB 003.008\n\x02\x02\x01").expect("types");
    let (tx, _) = drain(&mut c);
    assert_eq!(tx.get(1), Some(&vec![1]));

    // 3.3: the server picks type 2 itself.
    let mut c = Client::default();
    c.set_password("pw");
    c.handle_input(b"RFB 003.003\n\0\0\0\x02").expect("type");
    c.handle_input(&[7u8; 16]).expect("challenge");
    let (tx, _) = drain(&mut c);
    assert_eq!(tx.len(), 2);
    assert_eq!(tx[1].len(), 16);
    // A failed SecurityResult before 3.8 has no reason: an error at once, not a wait.
    assert_eq!(
        c.handle_input(&[0, 0, 0, 1]),
        Err(Error::Refused("the password was not accepted".into()))
    );
}

#[test]
fn vnc_authentication_failures() {
    // No password: a clear error, whether the server lists types (3.8) or picks one (3.3).
    let mut c = Client::default();
    assert_eq!(
        c.handle_input(b"RFB 003.008\n\x01\x02"),
        Err(Error::PasswordRequired)
    );
    let mut c = Client::default();
    assert_eq!(
        c.handle_input(b"RFB 003.003\n\0\0\0\x02"),
        Err(Error::PasswordRequired)
    );
    // A wrong password in 3.8: the server's reason.
    let mut c = Client::default();
    c.set_password("wrong");
    c.handle_input(b"RFB 003.008\n\x01\x02").expect("types");
    c.handle_input(&[0u8; 16]).expect("challenge");
    let mut result = vec![0, 0, 0, 1];
    result.extend(22u32.to_be_bytes());
    result.extend(b"Authentication failure");
    assert_eq!(
        c.handle_input(&result),
        Err(Error::Refused("Authentication failure".into()))
    );
    // Types we support neither of.
    let mut c = Client::default();
    c.set_password("pw");
    assert_eq!(
        c.handle_input(b"RFB 003.008\n\x01\x13"),
        Err(Error::NoSecurity(vec![19]))
    );
}

/// A Cursor pseudo-encoding rectangle (§7.8.1): the hotspot in x/y, the shape's pixels in
/// the pixel format asked for, then a bitmask of the shown ones, rows padded to bytes.
#[test]
fn cursor_shape_with_its_mask() {
    let mut c = connected(4, 4);
    // 3×2, hotspot (1, 1): red, green, blue / white, black, grey.
    let mut rect = rect_header(1, 1, 3, 2, ENCODING_CURSOR);
    for rgb in [
        [255, 0, 0],
        [0, 255, 0],
        [0, 0, 255],
        [255, 255, 255],
        [0, 0, 0],
        [9, 9, 9],
    ] {
        rect.extend(rgb);
        rect.push(0);
    }
    // Row 0 shows columns 0 and 2; row 1 only column 1.
    rect.extend([0b1010_0000, 0b0100_0000]);
    // Cut anywhere, the same shape.
    let bytes = update(&[rect]);
    let (head, tail) = bytes.split_at(9);
    c.handle_input(head).expect("part");
    c.handle_input(tail).expect("rest");
    let (_, ev) = drain(&mut c);
    let expected = Event::Cursor {
        hotspot_x: 1,
        hotspot_y: 1,
        width: 3,
        height: 2,
        rgba: vec![
            255, 0, 0, 255, 0, 255, 0, 0, 0, 0, 255, 255, //
            255, 255, 255, 0, 0, 0, 0, 255, 9, 9, 9, 0,
        ],
    };
    assert_eq!(ev.first(), Some(&expected), "{ev:?}");
    // The framebuffer is not drawn on.
    assert!(!ev.iter().any(|e| matches!(e, Event::Updated { .. })));
    // An empty cursor hides the pointer; a huge one is an error.
    let mut c = connected(4, 4);
    c.handle_input(&update(&[rect_header(0, 0, 0, 0, ENCODING_CURSOR)]))
        .expect("empty");
    let (_, ev) = drain(&mut c);
    assert!(matches!(
        ev.first(),
        Some(Event::Cursor {
            width: 0,
            height: 0,
            ..
        })
    ));
    let mut c = connected(4, 4);
    assert_eq!(
        c.handle_input(&update(&[rect_header(0, 0, 300, 300, ENCODING_CURSOR)])),
        Err(Error::Length("the cursor"))
    );
}
