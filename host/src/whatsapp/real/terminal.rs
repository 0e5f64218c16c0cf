//! QR codes for the terminal (`wagate instance connect`).

use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;

/// The QR code of `payload` as lines of Unicode half blocks (two modules per
/// character cell), light on dark so it scans from a dark terminal, with the quiet
/// zone phone cameras need.
pub fn qr_text(payload: &str) -> anyhow::Result<String> {
    let code = QrCode::new(payload.as_bytes())
        .map_err(|e| anyhow::anyhow!("rendering the QR code: {e}"))?;
    Ok(code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_square_block_of_half_blocks() {
        let text = qr_text("2@abc,def,ghi,jkl").unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let width = lines[0].chars().count();
        assert!(width >= 21 + 8, "version 1 code plus quiet zone: {width}");
        assert!(lines.iter().all(|l| l.chars().count() == width));
        // Two modules per line: about half as many lines as columns.
        assert_eq!(lines.len(), width.div_ceil(2));
        assert!(text.chars().any(|c| matches!(c, '▀' | '▄' | '█')));
    }
}
