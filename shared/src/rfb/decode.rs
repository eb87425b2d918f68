//! The framebuffer and the rectangle encodings of RFC 6143 §7.7: Raw (§7.7.1), CopyRect
//! (§7.7.2) and ZRLE (§7.7.6), for the pixel format the client asks for (32 bits per pixel,
//! R, G, B, X in memory; ZRLE's CPIXEL is then the first three bytes).

use super::Error;
use miniz_oxide::inflate::stream::{inflate, InflateState};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

/// ZRLE's tile side (§7.7.6).
const TILE: usize = 64;
/// The output grown at a time while inflating.
const INFLATE_STEP: usize = 64 * 1024;

/// The desktop's pixels, RGBA, row after row (alpha always 255).
#[derive(Debug, Default)]
pub(super) struct Framebuffer {
    width: u16,
    height: u16,
    pixels: Vec<u8>,
}

impl Framebuffer {
    /// A black framebuffer.
    pub(super) fn new(width: u16, height: u16) -> Framebuffer {
        let n = usize::from(width) * usize::from(height);
        let mut pixels = vec![0; n * 4];
        for px in pixels.chunks_exact_mut(4) {
            px[3] = 255;
        }
        Framebuffer {
            width,
            height,
            pixels,
        }
    }

    pub(super) fn width(&self) -> u16 {
        self.width
    }

    pub(super) fn height(&self) -> u16 {
        self.height
    }

    pub(super) fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// The byte offset of pixel (x, y).
    fn at(&self, x: usize, y: usize) -> usize {
        (y * usize::from(self.width) + x) * 4
    }

    /// A rectangle's pixels, clipped to the framebuffer.
    pub(super) fn rect(&self, x: u16, y: u16, w: u16, h: u16) -> Vec<u8> {
        let (x, y) = (usize::from(x), usize::from(y));
        let x1 = (x + usize::from(w)).min(usize::from(self.width));
        let y1 = (y + usize::from(h)).min(usize::from(self.height));
        let mut out = Vec::with_capacity(x1.saturating_sub(x) * y1.saturating_sub(y) * 4);
        for row in y..y1 {
            if x < x1 {
                let (a, b) = (self.at(x, row), self.at(x1, row));
                out.extend_from_slice(self.pixels.get(a..b).unwrap_or_default());
            }
        }
        out
    }

    /// Raw pixels (4 bytes each, `w * h` of them at the start of `data`) at (x, y); the
    /// caller checked that the rectangle fits and that `data` is long enough.
    pub(super) fn put_raw(&mut self, x: u16, y: u16, w: u16, h: u16, data: &[u8]) {
        let (x, y, w) = (usize::from(x), usize::from(y), usize::from(w));
        if w == 0 {
            return;
        }
        for (row, src) in data.chunks_exact(w * 4).take(usize::from(h)).enumerate() {
            let a = self.at(x, y + row);
            if let Some(dst) = self.pixels.get_mut(a..a + w * 4) {
                dst.copy_from_slice(src);
                for px in dst.chunks_exact_mut(4) {
                    px[3] = 255;
                }
            }
        }
    }

    /// CopyRect: the `w` × `h` rectangle at (sx, sy) copied to (x, y), source and
    /// destination possibly overlapping; `false` when the source is not inside.
    pub(super) fn copy_rect(&mut self, sx: u16, sy: u16, x: u16, y: u16, w: u16, h: u16) -> bool {
        if u32::from(sx) + u32::from(w) > u32::from(self.width)
            || u32::from(sy) + u32::from(h) > u32::from(self.height)
        {
            return false;
        }
        let (sx, sy, x, y) = (
            usize::from(sx),
            usize::from(sy),
            usize::from(x),
            usize::from(y),
        );
        let (w, h) = (usize::from(w), usize::from(h));
        let len = w * 4;
        // Rows in the order that never reads a row already overwritten.
        let copy = |fb: &mut Framebuffer, row: usize| {
            let (from, to) = (fb.at(sx, sy + row), fb.at(x, y + row));
            if from + len <= fb.pixels.len() && to + len <= fb.pixels.len() {
                fb.pixels.copy_within(from..from + len, to);
            }
        };
        if sy < y {
            for row in (0..h).rev() {
                copy(self, row);
            }
        } else {
            for row in 0..h {
                copy(self, row);
            }
        }
        true
    }

    /// Fills a rectangle (inside the framebuffer) with one colour.
    fn fill(&mut self, x: usize, y: usize, w: usize, h: usize, rgb: [u8; 3]) {
        let px = [rgb[0], rgb[1], rgb[2], 255];
        for row in y..y + h {
            let a = self.at(x, row);
            if let Some(dst) = self.pixels.get_mut(a..a + w * 4) {
                for d in dst.chunks_exact_mut(4) {
                    d.copy_from_slice(&px);
                }
            }
        }
    }

    /// Sets one pixel (inside the framebuffer).
    fn set(&mut self, x: usize, y: usize, rgb: [u8; 3]) {
        let a = self.at(x, y);
        if let Some(d) = self.pixels.get_mut(a..a + 4) {
            d.copy_from_slice(&[rgb[0], rgb[1], rgb[2], 255]);
        }
    }
}

/// The most uncompressed ZRLE data a `w` × `h` rectangle can take: per tile a subencoding
/// byte and a palette of 127 CPIXELs, plus 4 bytes per pixel (a CPIXEL and a run length of
/// one, the worst of plain RLE).
fn zrle_max_raw(w: u16, h: u16) -> usize {
    let tiles = usize::from(w).div_ceil(TILE) * usize::from(h).div_ceil(TILE);
    tiles * (1 + 127 * 3) + 4 * usize::from(w) * usize::from(h) + 16
}

/// The longest compressed ZRLE data accepted for a `w` × `h` rectangle: zlib's worst case
/// over the largest uncompressed data, generously.
pub(super) fn zrle_max_len(w: u16, h: u16) -> usize {
    let raw = zrle_max_raw(w, h);
    raw + raw / 8 + 1024
}

/// ZRLE's decoder: the zlib stream, one for the whole connection (§7.7.6).
pub(super) struct Zrle {
    inflater: Box<InflateState>,
    /// The inflated bytes of the current rectangle (kept to reuse the allocation).
    raw: Vec<u8>,
}

impl Default for Zrle {
    fn default() -> Zrle {
        Zrle {
            inflater: InflateState::new_boxed(DataFormat::Zlib),
            raw: Vec::new(),
        }
    }
}

impl std::fmt::Debug for Zrle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Zrle").finish_non_exhaustive()
    }
}

/// Reads ZRLE's inflated bytes.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, Error> {
        let b = self
            .data
            .get(self.pos)
            .copied()
            .ok_or(Error::Zrle("the data ends inside a tile"))?;
        self.pos += 1;
        Ok(b)
    }

    fn cpixel(&mut self) -> Result<[u8; 3], Error> {
        match self.data.get(self.pos..self.pos + 3) {
            Some(&[r, g, b]) => {
                self.pos += 3;
                Ok([r, g, b])
            }
            _ => Err(Error::Zrle("the data ends inside a tile")),
        }
    }

    /// A run length: bytes of 255 and a last one below, plus one.
    fn run(&mut self, max: usize) -> Result<usize, Error> {
        let mut len = 1usize;
        loop {
            let b = self.byte()?;
            len += usize::from(b);
            if len > max {
                return Err(Error::Zrle("a run longer than its tile"));
            }
            if b != 255 {
                return Ok(len);
            }
        }
    }
}

impl Zrle {
    /// Inflates `data` (the rectangle's part of the zlib stream) into `self.raw`.
    fn inflate(&mut self, data: &[u8], max: usize) -> Result<(), Error> {
        self.raw.clear();
        let mut consumed = 0;
        loop {
            let written = self.raw.len();
            if written >= max {
                return Err(Error::Zrle("more data than the rectangle can hold"));
            }
            let room = INFLATE_STEP.min(max - written);
            self.raw.resize(written + room, 0);
            let out = self.raw.get_mut(written..).unwrap_or_default();
            let r = inflate(
                &mut self.inflater,
                data.get(consumed..).unwrap_or_default(),
                out,
                MZFlush::None,
            );
            consumed += r.bytes_consumed;
            self.raw.truncate(written + r.bytes_written);
            let full = r.bytes_written == room;
            match r.status {
                Ok(MZStatus::Ok) | Ok(MZStatus::StreamEnd) => {}
                // No progress: all the input is used and nothing more is pending.
                Err(MZError::Buf) => return Ok(()),
                Ok(MZStatus::NeedDict) | Err(_) => {
                    return Err(Error::Zrle("the zlib stream is corrupt"))
                }
            }
            if consumed >= data.len() && !full {
                return Ok(());
            }
            if r.bytes_consumed == 0 && r.bytes_written == 0 {
                return Ok(());
            }
        }
    }

    /// Decodes a ZRLE rectangle (inside the framebuffer) into `fb`.
    pub(super) fn decode(
        &mut self,
        fb: &mut Framebuffer,
        x: u16,
        y: u16,
        w: u16,
        h: u16,
        data: &[u8],
    ) -> Result<(), Error> {
        self.inflate(data, zrle_max_raw(w, h))?;
        let raw = std::mem::take(&mut self.raw);
        let r = tiles(fb, x, y, w, h, &raw);
        self.raw = raw;
        r
    }
}

/// The tiles of a rectangle, left to right, top to bottom.
fn tiles(fb: &mut Framebuffer, x: u16, y: u16, w: u16, h: u16, raw: &[u8]) -> Result<(), Error> {
    let mut rd = Reader { data: raw, pos: 0 };
    let (x, y, w, h) = (
        usize::from(x),
        usize::from(y),
        usize::from(w),
        usize::from(h),
    );
    let mut ty = 0;
    while ty < h {
        let th = TILE.min(h - ty);
        let mut tx = 0;
        while tx < w {
            let tw = TILE.min(w - tx);
            tile(fb, &mut rd, x + tx, y + ty, tw, th)?;
            tx += TILE;
        }
        ty += TILE;
    }
    Ok(())
}

/// One tile at (x, y), `w` × `h` (§7.7.6's subencodings).
fn tile(
    fb: &mut Framebuffer,
    rd: &mut Reader<'_>,
    x: usize,
    y: usize,
    w: usize,
    h: usize,
) -> Result<(), Error> {
    let sub = rd.byte()?;
    let n = w * h;
    let mut palette = [[0u8; 3]; 127];
    let mut read_palette = |rd: &mut Reader<'_>, size: usize| -> Result<(), Error> {
        for p in palette.iter_mut().take(size) {
            *p = rd.cpixel()?;
        }
        Ok(())
    };
    match sub {
        // Raw CPIXELs.
        0 => {
            for i in 0..n {
                let c = rd.cpixel()?;
                fb.set(x + i % w, y + i / w, c);
            }
        }
        // One colour.
        1 => {
            let c = rd.cpixel()?;
            fb.fill(x, y, w, h, c);
        }
        // Packed palette: indices of 1, 2 or 4 bits, each row starting on a byte.
        2..=16 => {
            let size = usize::from(sub);
            read_palette(rd, size)?;
            let bits = match size {
                2 => 1,
                3..=4 => 2,
                _ => 4,
            };
            let mask = (1u8 << bits) - 1;
            for row in 0..h {
                let mut byte = 0u8;
                let mut have = 0;
                for col in 0..w {
                    if have == 0 {
                        byte = rd.byte()?;
                        have = 8;
                    }
                    have -= bits;
                    let index = usize::from((byte >> have) & mask);
                    let c = *palette
                        .get(index)
                        .filter(|_| index < size)
                        .ok_or(Error::Zrle("a palette index beyond the palette"))?;
                    fb.set(x + col, y + row, c);
                }
            }
        }
        // Plain RLE: a CPIXEL and its run length, until the tile is full.
        128 => {
            let mut i = 0;
            while i < n {
                let c = rd.cpixel()?;
                let run = rd.run(n - i)?;
                for k in i..i + run {
                    fb.set(x + k % w, y + k / w, c);
                }
                i += run;
            }
        }
        // Palette RLE: an index, with its run length when its top bit is set.
        130..=255 => {
            let size = usize::from(sub - 128);
            read_palette(rd, size)?;
            let mut i = 0;
            while i < n {
                let b = rd.byte()?;
                let index = usize::from(b & 127);
                if index >= size {
                    return Err(Error::Zrle("a palette index beyond the palette"));
                }
                let run = if b & 128 != 0 { rd.run(n - i)? } else { 1 };
                let c = palette.get(index).copied().unwrap_or_default();
                for k in i..i + run {
                    fb.set(x + k % w, y + k / w, c);
                }
                i += run;
            }
        }
        _ => return Err(Error::Zrle("an unused subencoding")),
    }
    Ok(())
}
