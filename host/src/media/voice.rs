//! Voice notes as WhatsApp plays them: Opus in an Ogg file, mono. WhatsApp's phones
//! play a push-to-talk note in another format badly or not at all, so a voice note
//! sent as MP3, M4A, WAV, ... is converted first, the way Evolution API does (it runs
//! ffmpeg too). Decoding every audio format there is belongs to ffmpeg, not to this
//! binary: it is run as a separate process when the operator has it (`[media]
//! ffmpeg`, default `ffmpeg` on the `PATH`); without it a voice note goes as given.
//!
//! The input is written to a temporary file (MP4/M4A cannot be read from a pipe when
//! their index comes last), read with local file access and audio demuxers only, the
//! output read from ffmpeg's stdout up to a cap, the whole run bounded by a timeout,
//! and the process killed if the request is dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;

/// The ffmpeg demuxers a voice note may be read with: WAV, MP3, Ogg, MP4/M4A/3GP
/// (`mov`), AAC, FLAC, Matroska/WebM, AMR, WMA (`asf`), CAF and AIFF.
const AUDIO_DEMUXERS: &str = "wav,mp3,ogg,mov,aac,flac,matroska,webm,amr,asf,caf,aiff";

/// The MIME type of what [`to_opus`] makes (WhatsApp's own voice notes carry it).
pub const OPUS_MIMETYPE: &str = "audio/ogg; codecs=opus";

/// Whether `bytes` are already Opus in Ogg (the first page's `OpusHead`): sent as
/// they are.
pub fn is_ogg_opus(bytes: &[u8]) -> bool {
    bytes.starts_with(b"OggS")
        && bytes[..bytes.len().min(128)]
            .windows(8)
            .any(|w| w == b"OpusHead")
}

/// The ffmpeg to run for `configured` (`[media] ffmpeg`: a path, or a name looked up
/// on the `PATH`; empty: none), once per process; `None` when there is none.
pub fn ffmpeg(configured: &str) -> Option<&'static Path> {
    static FOUND: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    FOUND
        .get_or_init(|| {
            let found = locate(configured);
            match &found {
                Some(path) => {
                    tracing::info!(ffmpeg = %path.display(), "voice notes are converted to Opus")
                }
                None if configured.is_empty() => {}
                None => tracing::warn!(
                    ffmpeg = configured,
                    "ffmpeg not found: voice notes are sent in the format they are given"
                ),
            }
            found
        })
        .as_deref()
}

fn locate(configured: &str) -> Option<PathBuf> {
    if configured.is_empty() {
        return None;
    }
    let given = Path::new(configured);
    if given.components().count() > 1 {
        return given.is_file().then(|| given.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(configured))
        .find(|p| p.is_file())
}

/// `bytes` as a mono 48 kHz Opus voice note in Ogg, by `ffmpeg`, within `timeout`
/// and at most `max_out` bytes; the reason when ffmpeg cannot read them as audio.
pub async fn to_opus(
    ffmpeg: &Path,
    bytes: &[u8],
    timeout: Duration,
    max_out: u64,
) -> Result<Vec<u8>, String> {
    let input = tempfile_with(bytes)
        .await
        .map_err(|e| format!("staging the audio: {e}"))?;
    let mut child = tokio::process::Command::new(ffmpeg)
        .args(["-hide_banner", "-loglevel", "error", "-nostdin"])
        // The caller's bytes choose the demuxer: only audio containers (ffmpeg's many
        // other demuxers are attack surface, not features) and only local reads (no
        // demuxer may open a URL the bytes name, past the SSRF guard; ffmpeg's own
        // rules refuse that for playlists already, this holds for every demuxer).
        .args([
            "-protocol_whitelist",
            "file",
            "-format_whitelist",
            AUDIO_DEMUXERS,
            "-i",
        ])
        .arg(input.path())
        .args([
            "-map",
            "0:a:0",
            "-vn",
            "-ac",
            "1",
            "-ar",
            "48000",
            "-c:a",
            "libopus",
            "-b:a",
            "32k",
            "-application",
            "voip",
            "-f",
            "ogg",
            "pipe:1",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("running ffmpeg: {e}"))?;
    let (mut stdout, mut stderr) = (
        child.stdout.take().expect("piped"),
        child.stderr.take().expect("piped"),
    );
    let run = async {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let read_out = async { (&mut stdout).take(max_out + 1).read_to_end(&mut out).await };
        let read_err = async { (&mut stderr).take(64 * 1024).read_to_end(&mut err).await };
        let (o, _) = tokio::join!(read_out, read_err);
        o.map_err(|e| format!("reading ffmpeg's output: {e}"))?;
        let status = child.wait().await.map_err(|e| format!("ffmpeg: {e}"))?;
        Ok::<_, String>((status, out, err))
    };
    let (status, out, err) = tokio::time::timeout(timeout, run).await.map_err(|_| {
        format!(
            "converting the audio took longer than {} s",
            timeout.as_secs()
        )
    })??;
    if out.len() as u64 > max_out {
        return Err(format!(
            "the converted audio is larger than {max_out} bytes"
        ));
    }
    if !status.success() || !is_ogg_opus(&out) {
        let reason = String::from_utf8_lossy(&err);
        let reason = reason
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("no audio");
        return Err(format!(
            "the audio could not be converted to a voice note ({reason})"
        ));
    }
    Ok(out)
}

/// Whole seconds of an Ogg Opus file: its last page's granule position (48 kHz
/// samples) less the header's pre-skip; `None` if it does not read as one.
pub fn duration_secs(ogg: &[u8]) -> Option<u32> {
    let pre_skip = ogg
        .windows(8)
        .position(|w| w == b"OpusHead")
        .and_then(|at| ogg.get(at + 10..at + 12))
        .map(|b| u64::from(u16::from_le_bytes([b[0], b[1]])))?;
    let last = ogg.windows(4).rposition(|w| w == b"OggS")?;
    let granule = u64::from_le_bytes(ogg.get(last + 6..last + 14)?.try_into().ok()?);
    u32::try_from(granule.saturating_sub(pre_skip).div_ceil(48_000)).ok()
}

/// A temporary file holding `bytes` (removed when dropped).
async fn tempfile_with(bytes: &[u8]) -> std::io::Result<TempFile> {
    use tokio::io::AsyncWriteExt;
    let path = std::env::temp_dir().join(format!("wagate-voice-{}", crate::util::new_secret("")));
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .await?;
    let guard = TempFile(path);
    file.write_all(bytes).await?;
    file.flush().await?;
    Ok(guard)
}

struct TempFile(PathBuf);

impl TempFile {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ogg_opus_file_is_recognised_and_its_length_read() {
        // An OpusHead page (pre-skip 312) and a last page at granule 48,000 * 3 + 312.
        let mut ogg = b"OggS\0\x02".to_vec();
        ogg.extend_from_slice(&0u64.to_le_bytes());
        ogg.extend_from_slice(&[0; 13]);
        ogg.extend_from_slice(b"OpusHead\x01\x01");
        ogg.extend_from_slice(&312u16.to_le_bytes());
        ogg.extend_from_slice(b"OggS\0\x04");
        ogg.extend_from_slice(&(48_000u64 * 3 + 312).to_le_bytes());
        assert!(is_ogg_opus(&ogg));
        assert_eq!(duration_secs(&ogg), Some(3));
        assert!(!is_ogg_opus(b"ID3\x03mp3"));
        assert!(!is_ogg_opus(b"OggS vorbis"));
    }

    #[test]
    fn ffmpeg_is_looked_up_on_the_path_or_taken_as_given() {
        assert_eq!(locate(""), None);
        assert_eq!(locate("/nonexistent/ffmpeg"), None);
        assert_eq!(locate("surely-no-such-program-wagate"), None);
        assert!(locate("sh").is_some(), "sh is on every PATH");
    }
}
