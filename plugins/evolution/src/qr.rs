//! QR codes as Evolution returns them: `data:image/png;base64,...`.
//!
//! The matrix comes from the pure-Rust `qrcode` crate (no default features, so no image
//! stack); the PNG is written here: 1-bit greyscale, one stored (uncompressed) deflate
//! stream. With Evolution's options (error correction H, margin 3, scale 4) a WhatsApp
//! pairing payload is a ~250 px image of about 8 KB: small enough that compression is
//! not worth a dependency.

use qrcode::{Color, EcLevel, QrCode};

const MARGIN: usize = 3;
const SCALE: usize = 4;

/// The QR code of `payload` as a PNG data URL, or `None` if it does not fit a QR code.
pub(crate) fn data_url(payload: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::H)
        .or_else(|_| QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::L))
        .ok()?;
    let png = png(&code);
    Some(format!(
        "data:image/png;base64,{}",
        wagate_plugin_sdk::base64::encode(&png)
    ))
}

fn png(code: &QrCode) -> Vec<u8> {
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * MARGIN) * SCALE;
    let row_bytes = side.div_ceil(8);

    // Raw scanlines: filter byte 0, then 1 bit per pixel (1 = white, 0 = black).
    let mut raw = Vec::with_capacity((row_bytes + 1) * side);
    for y in 0..side {
        raw.push(0u8);
        let my = (y / SCALE).checked_sub(MARGIN).filter(|v| *v < modules);
        let mut byte = 0u8;
        for x in 0..side {
            let mx = (x / SCALE).checked_sub(MARGIN).filter(|v| *v < modules);
            let dark = matches!((mx, my), (Some(mx), Some(my)) if colors[my * modules + mx] == Color::Dark);
            byte = (byte << 1) | u8::from(!dark);
            if x % 8 == 7 {
                raw.push(byte);
                byte = 0;
            }
        }
        if !side.is_multiple_of(8) {
            let pad = 8 - side % 8;
            raw.push((byte << pad) | ((1u8 << pad) - 1));
        }
    }

    let mut out = Vec::with_capacity(raw.len() + 128);
    out.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&(side as u32).to_be_bytes());
    ihdr.extend_from_slice(&(side as u32).to_be_bytes());
    ihdr.extend_from_slice(&[1, 0, 0, 0, 0]); // 1-bit, greyscale, deflate, no filter, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream of stored deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut blocks = data.chunks(65_535).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}
