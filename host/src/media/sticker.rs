//! Stickers as WhatsApp requires them: a 512x512 WebP. A PNG or JPEG sent as a
//! sticker is fitted inside 512x512 (aspect kept, never enlarged past it), centred on
//! a transparent square and encoded as WebP; a WebP is sent as given.
//!
//! The `image` crate's WebP encoder is lossless only: flat sticker art stays small,
//! a photo turned into a sticker can exceed the 100 KB WhatsApp's sticker guidance
//! asks for (it is still sent; WhatsApp shows it).

use std::io::Cursor;

use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat, ImageReader, Limits, RgbaImage};

/// WhatsApp's sticker side, in pixels.
pub const SIDE: u32 = 512;

/// The largest source image decoded (either side): a bigger one is refused rather
/// than decoded into hundreds of megabytes.
const MAX_SOURCE_SIDE: u32 = 8192;

/// Decoder memory ceiling (an 8192x8192 RGBA image is 256 MiB).
const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;

/// Whether a sticker of `mimetype` is transcoded (PNG, JPEG) rather than sent as is.
pub fn needs_transcoding(mimetype: &str) -> bool {
    matches!(mimetype, "image/png" | "image/jpeg" | "image/jpg")
}

/// `bytes` (a PNG or JPEG) as a 512x512 WebP sticker; the reason when they are not
/// a decodable image of that kind or are too large to decode.
pub fn to_webp(bytes: &[u8], mimetype: &str) -> Result<Vec<u8>, String> {
    let format = match mimetype {
        "image/png" => ImageFormat::Png,
        _ => ImageFormat::Jpeg,
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SOURCE_SIDE);
    limits.max_image_height = Some(MAX_SOURCE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let source = reader
        .decode()
        .map_err(|e| format!("the sticker is not a readable {mimetype} image: {e}"))?;
    let fitted = if source.width() > SIDE || source.height() > SIDE {
        source.resize(SIDE, SIDE, FilterType::Triangle)
    } else {
        source
    };
    let mut canvas = RgbaImage::new(SIDE, SIDE); // transparent
    let (x, y) = ((SIDE - fitted.width()) / 2, (SIDE - fitted.height()) / 2);
    image::imageops::overlay(&mut canvas, &fitted.to_rgba8(), x.into(), y.into());
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgba8(canvas)
        .write_to(&mut out, ImageFormat::WebP)
        .map_err(|e| format!("encoding the sticker as WebP: {e}"))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = RgbaImage::from_fn(width, height, |x, y| {
            image::Rgba([(x % 256) as u8, (y % 256) as u8, 90, 255])
        });
        let mut out = Cursor::new(Vec::new());
        DynamicImage::ImageRgba8(img)
            .write_to(&mut out, ImageFormat::Png)
            .unwrap();
        out.into_inner()
    }

    #[test]
    fn a_wide_png_is_fitted_and_centred_on_a_transparent_square() {
        let webp = to_webp(&png(1024, 256), "image/png").unwrap();
        let back = image::load_from_memory_with_format(&webp, ImageFormat::WebP)
            .unwrap()
            .to_rgba8();
        assert_eq!(back.dimensions(), (SIDE, SIDE));
        // 1024x256 fits as 512x128, rows 192..320: transparent above, opaque inside.
        assert_eq!(back.get_pixel(256, 10)[3], 0);
        assert_eq!(back.get_pixel(256, 256)[3], 255);
    }

    #[test]
    fn not_an_image_is_refused_with_its_reason() {
        let e = to_webp(b"not a png at all", "image/png").unwrap_err();
        assert!(e.contains("not a readable image/png"), "{e}");
    }
}
