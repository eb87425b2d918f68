//! G.711 μ-law (PCMU) and A-law (PCMA) companding (ITU-T G.711): pure functions on samples,
//! shared by the gateway's transcoder and the native driver's audio stream.

/// The μ-law bias added before finding the segment (ITU-T G.711 table 2a, as in the classic
/// Sun reference implementation).
const ULAW_BIAS: i32 = 0x84;
/// The largest magnitude μ-law can represent once biased.
const ULAW_CLIP: i32 = 32_635;

/// Encodes one linear sample as μ-law.
pub fn linear_to_ulaw(sample: i16) -> u8 {
    let mut pcm = i32::from(sample);
    let sign = if pcm < 0 {
        pcm = -pcm;
        0x80
    } else {
        0
    };
    pcm = pcm.min(ULAW_CLIP) + ULAW_BIAS;
    // The segment is the position of the highest set bit above bit 7; 0x84..=0x7FFF spans
    // bits 7 to 14, so segments 0 to 7.
    let top_bit = 31 - pcm.leading_zeros() as i32;
    let segment = (top_bit - 7).clamp(0, 7);
    let mantissa = (pcm >> (segment + 3)) & 0x0F;
    // The code word is sent inverted (G.711 §3.2 note: all bits inverted for μ-law).
    !((sign | (segment << 4) | mantissa) as u8)
}

/// Decodes one μ-law code word.
pub fn ulaw_to_linear(code: u8) -> i16 {
    let u = !code;
    let segment = i32::from((u >> 4) & 0x07);
    let mantissa = i32::from(u & 0x0F);
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << segment) - ULAW_BIAS;
    // The largest magnitude is 32,124, well inside i16.
    let value = if u & 0x80 != 0 { -magnitude } else { magnitude };
    value as i16
}

/// The upper ends of the eight A-law segments for the 13-bit magnitude.
const ALAW_SEGMENT_END: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];

/// Encodes one linear sample as A-law.
pub fn linear_to_alaw(sample: i16) -> u8 {
    // A-law works on 13 bits.
    let mut pcm = i32::from(sample) >> 3;
    // Even bits are inverted on the wire (G.711 §2.2: XOR 0x55), the sign bit is 1 for
    // positive values.
    let mask: u8 = if pcm >= 0 {
        0xD5
    } else {
        pcm = -pcm - 1;
        0x55
    };
    let segment = ALAW_SEGMENT_END
        .iter()
        .position(|&end| pcm <= end)
        .unwrap_or(8);
    if segment >= 8 {
        return 0x7F ^ mask;
    }
    let shift = if segment < 2 { 1 } else { segment };
    let code = ((segment as i32) << 4) | ((pcm >> shift) & 0x0F);
    (code as u8) ^ mask
}

/// Decodes one A-law code word.
pub fn alaw_to_linear(code: u8) -> i16 {
    let a = code ^ 0x55;
    let mut t = i32::from(a & 0x0F) << 4;
    let segment = i32::from((a & 0x70) >> 4);
    match segment {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= segment - 1;
        }
    }
    // The largest magnitude is 32,256, inside i16.
    let value = if a & 0x80 != 0 { t } else { -t };
    value as i16
}

/// Appends the μ-law (PCMU) encoding of `pcm` to `out`, one byte per sample.
pub fn ulaw_encode(pcm: &[i16], out: &mut Vec<u8>) {
    out.extend(pcm.iter().map(|&s| linear_to_ulaw(s)));
}

/// Appends the linear samples of μ-law (PCMU) `data` to `out`.
pub fn ulaw_decode(data: &[u8], out: &mut Vec<i16>) {
    out.extend(data.iter().map(|&b| ulaw_to_linear(b)));
}

/// Appends the A-law (PCMA) encoding of `pcm` to `out`, one byte per sample.
pub fn alaw_encode(pcm: &[i16], out: &mut Vec<u8>) {
    out.extend(pcm.iter().map(|&s| linear_to_alaw(s)));
}

/// Appends the linear samples of A-law (PCMA) `data` to `out`.
pub fn alaw_decode(data: &[u8], out: &mut Vec<i16>) {
    out.extend(data.iter().map(|&b| alaw_to_linear(b)));
}
