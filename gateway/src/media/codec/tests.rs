//! Tests of the codecs, the resampler and the transcoder.

use super::*;

fn sine(freq: f64, rate: u32, amplitude: f64, samples: usize) -> Vec<i16> {
    (0..samples)
        .map(|n| {
            let t = n as f64 / f64::from(rate);
            (amplitude * (2.0 * std::f64::consts::PI * freq * t).sin()).round() as i16
        })
        .collect()
}

/// The amplitude of `freq` in `x` (Goertzel), in the units of the samples.
fn goertzel(x: &[i16], freq: f64, rate: u32) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s0 = f64::from(v) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power.sqrt() / x.len() as f64
}

/// Resamples `x` in 20 ms blocks, as the relay does.
fn resample_blocks(x: &[i16], from: u32, to: u32) -> Vec<i16> {
    let mut r = Resampler::new(from, to);
    let mut out = Vec::new();
    for block in x.chunks((from / 50) as usize) {
        r.process(block, &mut out);
    }
    out
}

#[test]
fn codec_names_and_rates() {
    assert_eq!(Codec::from_rtp_name("OPUS"), Some(Codec::Opus));
    assert_eq!(Codec::from_rtp_name("pcmu"), Some(Codec::Pcmu));
    assert_eq!(Codec::from_rtp_name("PCMA"), Some(Codec::Pcma));
    assert_eq!(Codec::from_rtp_name("G729"), None);
    assert_eq!(Codec::Opus.clock_rate(), 48_000);
    assert_eq!(Codec::Pcma.clock_rate(), 8_000);
    assert_eq!(Codec::Opus.samples_per_20ms(), 960);
    assert_eq!(Codec::Pcmu.samples_per_20ms(), 160);
    assert_eq!(Codec::Pcmu.static_pt(), Some(0));
    assert_eq!(Codec::Pcma.static_pt(), Some(8));
    assert_eq!(Codec::Opus.static_pt(), None);
    assert_eq!(Codec::Opus.rtp_name(), "opus");
}

#[test]
fn g711_known_values() {
    let mut u = Vec::new();
    ulaw_encode(&[0, -1, 32767, -32768, 1000, -1000], &mut u);
    // 0 and -1 are the two zero codes; full scale is 0x80/0x00.
    assert_eq!(u, [0xFF, 0x7F, 0x80, 0x00, 0xCE, 0x4E]);
    let mut a = Vec::new();
    alaw_encode(&[0, -1, 32767, -32768, 1000, -1000], &mut a);
    assert_eq!(a, [0xD5, 0x55, 0xAA, 0x2A, 0xFA, 0x7A]);

    let mut pcm = Vec::new();
    ulaw_decode(&[0xFF, 0x7F, 0x80, 0x00], &mut pcm);
    assert_eq!(pcm, [0, 0, 32124, -32124]);
    pcm.clear();
    alaw_decode(&[0xD5, 0x55, 0xAA, 0x2A], &mut pcm);
    assert_eq!(pcm, [8, -8, 32256, -32256]);
}

#[test]
fn g711_round_trip_error_is_bounded() {
    for s in (i16::MIN..=i16::MAX).step_by(7) {
        let mut code = Vec::new();
        let mut back = Vec::new();
        ulaw_encode(&[s], &mut code);
        ulaw_decode(&code, &mut back);
        let err = (i32::from(s) - i32::from(back[0])).abs();
        // Logarithmic quantisation: about 1/32 of the magnitude, beyond the clip point
        // the clip error.
        let bound =
            (i32::from(s).abs() / 16).max(8) + if s.unsigned_abs() > 32124 { 700 } else { 0 };
        assert!(err <= bound, "ulaw {s} -> {} (err {err})", back[0]);

        code.clear();
        back.clear();
        alaw_encode(&[s], &mut code);
        alaw_decode(&code, &mut back);
        let err = (i32::from(s) - i32::from(back[0])).abs();
        let bound =
            (i32::from(s).abs() / 16).max(16) + if s.unsigned_abs() > 32256 { 600 } else { 0 };
        assert!(err <= bound, "alaw {s} -> {} (err {err})", back[0]);
    }
    // Every code word survives decode then encode.
    for code in 0..=255u8 {
        let (mut pcm, mut again) = (Vec::new(), Vec::new());
        ulaw_decode(&[code], &mut pcm);
        ulaw_encode(&pcm, &mut again);
        // 0x7F and 0xFF are both zero; zero encodes as 0xFF.
        if code != 0x7F {
            assert_eq!(again, [code], "ulaw code {code:#x}");
        }
        pcm.clear();
        again.clear();
        alaw_decode(&[code], &mut pcm);
        alaw_encode(&pcm, &mut again);
        assert_eq!(again, [code], "alaw code {code:#x}");
    }
}

#[test]
fn resampler_keeps_a_1khz_tone_from_48k_to_8k() {
    let x = sine(1000.0, 48_000, 10_000.0, 48_000);
    let y = resample_blocks(&x, 48_000, 8_000);
    assert!((y.len() as i64 - 8000).abs() <= 1, "{}", y.len());
    // Skip the filter's start-up.
    let steady = &y[400..];
    let amp = goertzel(steady, 1000.0, 8000);
    assert!((amp - 10_000.0).abs() < 500.0, "amplitude {amp}");
    // Frequency by zero crossings: 2 per period.
    let crossings = steady
        .windows(2)
        .filter(|w| (w[0] < 0) != (w[1] < 0))
        .count();
    let seconds = steady.len() as f64 / 8000.0;
    let freq = crossings as f64 / 2.0 / seconds;
    assert!((freq - 1000.0).abs() < 5.0, "frequency {freq}");
}

#[test]
fn resampler_rejects_6khz_when_going_to_8k() {
    let x = sine(6000.0, 48_000, 10_000.0, 48_000);
    let y = resample_blocks(&x, 48_000, 8_000);
    let steady = &y[400..];
    // A 6 kHz tone would alias to 2 kHz at 8 kHz.
    let rms =
        (steady.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / steady.len() as f64).sqrt();
    let input_rms = 10_000.0 / 2f64.sqrt();
    let db = 20.0 * (rms.max(1e-9) / input_rms).log10();
    assert!(db < -30.0, "only {db:.1} dB down");
}

#[test]
fn resampler_up_and_down_between_all_rates() {
    for (from, to) in [
        (8_000, 48_000),
        (48_000, 8_000),
        (8_000, 16_000),
        (16_000, 8_000),
        (16_000, 48_000),
        (48_000, 16_000),
    ] {
        let x = sine(440.0, from, 8_000.0, from as usize);
        let y = resample_blocks(&x, from, to);
        assert!(
            (y.len() as i64 - i64::from(to)).abs() <= 1,
            "{from}->{to}: {}",
            y.len()
        );
        let steady = &y[(to / 20) as usize..];
        let amp = goertzel(steady, 440.0, to);
        assert!(
            (amp - 8_000.0).abs() < 400.0,
            "{from}->{to}: amplitude {amp}"
        );
        // No clicks at block joins: the largest step stays near a sine's largest slope.
        let max_step = steady
            .windows(2)
            .map(|w| (i32::from(w[1]) - i32::from(w[0])).abs())
            .max()
            .unwrap_or(0);
        let slope = 8_000.0 * 2.0 * std::f64::consts::PI * 440.0 / f64::from(to);
        assert!(
            f64::from(max_step) < slope * 1.1 + 2.0,
            "{from}->{to}: step {max_step}"
        );
    }
}

#[test]
fn resampler_passes_equal_and_odd_rates_through() {
    let mut r = Resampler::new(8000, 8000);
    let mut out = Vec::new();
    r.process(&[1, 2, 3], &mut out);
    assert_eq!(out, [1, 2, 3]);
    let mut r = Resampler::new(0, 8000);
    r.process(&[4], &mut out);
    assert_eq!(out, [1, 2, 3, 4]);
    // After a reset, the same input gives the same output as a fresh resampler.
    let x = sine(440.0, 8000, 8000.0, 160);
    let mut r = Resampler::new(8000, 48_000);
    let (mut first, mut second) = (Vec::new(), Vec::new());
    r.process(&x, &mut first);
    r.reset();
    r.process(&x, &mut second);
    assert_eq!(first, second);
}

#[test]
fn opus_encodes_and_decodes_20ms() {
    let mut enc = Encoder::new(Codec::Opus).expect("encoder");
    let mut dec = Decoder::new(Codec::Opus).expect("decoder");
    let x = sine(440.0, 48_000, 8_000.0, 48_000);
    let mut pcm = Vec::new();
    for frame in x.chunks(960) {
        let mut payload = Vec::new();
        enc.encode(frame, &mut payload).expect("encode");
        assert!(!payload.is_empty() && payload.len() < 400);
        dec.decode(&payload, &mut pcm).expect("decode");
    }
    assert_eq!(pcm.len(), 48_000);
    let amp = goertzel(&pcm[9600..], 440.0, 48_000);
    assert!((amp - 8_000.0).abs() < 1_600.0, "amplitude {amp}");

    let before = pcm.len();
    dec.conceal(960, &mut pcm);
    assert_eq!(pcm.len() - before, 960);
    dec.conceal(100, &mut pcm);
    assert_eq!(pcm.len() - before, 1060);

    assert!(matches!(
        enc.encode(&x[..100], &mut Vec::new()),
        Err(CodecError::FrameSize {
            expected: 960,
            got: 100
        })
    ));
    // A code 3 packet with no frames (RFC 6716 §3.2.5) is an error, not a panic.
    let len = pcm.len();
    assert!(dec.decode(&[0x03, 0x00], &mut pcm).is_err());
    assert_eq!(pcm.len(), len);
}

#[test]
fn opus_recovers_a_lost_packet_from_fec() {
    let mut enc = Encoder::new(Codec::Opus).expect("encoder");
    let x = sine(440.0, 48_000, 8_000.0, 48_000);
    let packets: Vec<Vec<u8>> = x
        .chunks(960)
        .map(|f| {
            let mut p = Vec::new();
            enc.encode(f, &mut p).expect("encode");
            p
        })
        .collect();
    let mut dec = Decoder::new(Codec::Opus).expect("decoder");
    let mut pcm = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        if i == 25 {
            continue;
        }
        if i == 26 {
            dec.recover(p, 960, &mut pcm);
        }
        dec.decode(p, &mut pcm).expect("decode");
    }
    assert_eq!(pcm.len(), 48_000);
    // The recovered stretch still carries the tone.
    let amp = goertzel(&pcm[25 * 960..26 * 960], 440.0, 48_000);
    assert!(amp > 4_000.0, "amplitude {amp}");
    // G.711 has no FEC: silence.
    let mut dec = Decoder::new(Codec::Pcmu).expect("decoder");
    let mut pcm = Vec::new();
    dec.recover(&[0x00; 160], 160, &mut pcm);
    assert_eq!(pcm, vec![0; 160]);
}

#[test]
fn g711_decoder_conceals_with_silence() {
    let mut dec = Decoder::new(Codec::Pcma).expect("decoder");
    let mut pcm = vec![5];
    dec.conceal(160, &mut pcm);
    assert_eq!(pcm.len(), 161);
    assert!(pcm[1..].iter().all(|&s| s == 0));
    let mut enc = Encoder::new(Codec::Pcmu).expect("encoder");
    let mut payload = Vec::new();
    enc.encode(&[0; 160], &mut payload).expect("encode");
    assert_eq!(payload, [0xFF; 160]);
}

#[test]
fn transcoder_opus_to_pcmu_and_back() {
    let x = sine(700.0, 48_000, 8_000.0, 48_000);
    let mut enc = Encoder::new(Codec::Opus).expect("encoder");
    let mut t = Transcoder::new(Codec::Opus, Codec::Pcmu).expect("transcoder");
    assert_eq!(
        (t.source_codec(), t.target_codec()),
        (Codec::Opus, Codec::Pcmu)
    );
    let mut back = Transcoder::new(Codec::Pcmu, Codec::Opus).expect("transcoder");
    let mut g711 = Vec::new();
    let mut tap = Vec::new();
    let mut opus_again = Vec::new();
    for frame in x.chunks(960) {
        let mut payload = Vec::new();
        enc.encode(frame, &mut payload).expect("encode");
        let mut out = Vec::new();
        t.push(&payload, &mut out).expect("push");
        assert_eq!(t.last_pcm_8k().len(), 160);
        tap.extend_from_slice(t.last_pcm_8k());
        for p in out {
            assert_eq!(p.len(), 160);
            back.push(&p, &mut opus_again).expect("push back");
            g711.push(p);
        }
    }
    assert_eq!(g711.len(), 50);
    assert_eq!(opus_again.len(), 50);
    let amp = goertzel(&tap[1600..], 700.0, 8000);
    assert!((amp - 8_000.0).abs() < 1_600.0, "amplitude {amp}");
    let mut pcm = Vec::new();
    for p in &g711 {
        ulaw_decode(p, &mut pcm);
    }
    let amp = goertzel(&pcm[1600..], 700.0, 8000);
    assert!((amp - 8_000.0).abs() < 1_600.0, "amplitude {amp}");

    let mut out = Vec::new();
    t.conceal(&mut out).expect("conceal");
    assert_eq!(out.len(), 1);
    assert_eq!(t.last_pcm_8k().len(), 160);
}

#[test]
fn transcoder_buffers_short_packets() {
    // 10 ms PCMA packets make one 20 ms Opus packet every other push.
    let mut t = Transcoder::new(Codec::Pcma, Codec::Opus).expect("transcoder");
    let mut out = Vec::new();
    t.push(&[0xD5; 80], &mut out).expect("push");
    assert!(out.is_empty());
    t.push(&[0xD5; 80], &mut out).expect("push");
    assert_eq!(out.len(), 1);
    // 60 ms at once makes three.
    t.push(&[0xD5; 480], &mut out).expect("push");
    assert_eq!(out.len(), 4);
}

#[test]
fn pcm_tap_feeds_8k() {
    let mut tap = PcmTap::new(Codec::Opus).expect("tap");
    let mut enc = Encoder::new(Codec::Opus).expect("encoder");
    let mut payload = Vec::new();
    enc.encode(&[0; 960], &mut payload).expect("encode");
    let mut out = Vec::new();
    tap.tap(&payload, &mut out);
    assert_eq!(out.len(), 160);
    tap.conceal(40, &mut out);
    assert_eq!(out.len(), 480);
    let mut tap = PcmTap::new(Codec::Pcmu).expect("tap");
    out.clear();
    tap.tap(&[0xFF; 160], &mut out);
    assert_eq!(out, vec![0; 160]);
}
