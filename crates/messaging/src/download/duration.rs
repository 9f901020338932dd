//! How long a recording lasts, read from its container's header where the format declares
//! it: MP4/M4A (`moov/mvhd`: time scale and duration) and WAV (byte rate and data size).
//! Nothing is decoded; other formats answer `None` and are bounded by their size alone.

/// Seconds of audio `bytes` (of sniffed MIME type `mime`) declare, rounded up.
pub fn declared_seconds(bytes: &[u8], mime: &str) -> Option<u64> {
    match mime {
        "video/mp4" | "audio/mp4" | "audio/m4a" | "audio/x-m4a" | "video/quicktime" => {
            mp4_seconds(bytes)
        }
        "audio/x-wav" | "audio/wav" | "audio/vnd.wave" => wav_seconds(bytes),
        _ => None,
    }
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn be_u64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The boxes directly inside `bytes`: (type, content).
fn boxes(bytes: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let size = be_u32(bytes, at)? as usize;
        let kind: [u8; 4] = bytes.get(at + 4..at + 8)?.try_into().ok()?;
        let (header, total) = match size {
            // 64-bit size follows the type.
            1 => (16, usize::try_from(be_u64(bytes, at + 8)?).ok()?),
            // The box runs to the end of the file.
            0 => (8, bytes.len() - at),
            n => (8, n),
        };
        if total < header {
            return None;
        }
        let content = bytes.get(at + header..at.checked_add(total)?)?;
        at += total;
        Some((kind, content))
    })
}

fn mp4_seconds(bytes: &[u8]) -> Option<u64> {
    let (_, moov) = boxes(bytes).find(|(kind, _)| kind == b"moov")?;
    let (_, mvhd) = boxes(moov).find(|(kind, _)| kind == b"mvhd")?;
    let (scale, duration) = match mvhd.first()? {
        0 => (be_u32(mvhd, 12)?, u64::from(be_u32(mvhd, 16)?)),
        1 => (be_u32(mvhd, 20)?, be_u64(mvhd, 24)?),
        _ => return None,
    };
    (scale > 0).then(|| duration.div_ceil(u64::from(scale)))
}

fn wav_seconds(bytes: &[u8]) -> Option<u64> {
    if bytes.get(0..4)? != b"RIFF" || bytes.get(8..12)? != b"WAVE" {
        return None;
    }
    let mut at = 12usize;
    let mut byte_rate = None;
    while let (Some(kind), Some(size)) = (bytes.get(at..at + 4), le_u32(bytes, at + 4)) {
        match kind {
            b"fmt " => byte_rate = le_u32(bytes, at + 16),
            b"data" => {
                let rate = u64::from(byte_rate.filter(|r| *r > 0)?);
                return Some(u64::from(size).div_ceil(rate));
            }
            _ => {}
        }
        at = at.checked_add(8 + size as usize + (size as usize & 1))?;
    }
    None
}

/// A minimal MP4 audio file declaring `seconds` (ftyp + moov/mvhd, no samples): a fixture
/// for tests of the duration cap, in this crate and the ones above it.
pub fn mp4_header_for_tests(seconds: u32) -> Vec<u8> {
    let mut mvhd = vec![0u8; 100];
    mvhd[12..16].copy_from_slice(&1000u32.to_be_bytes());
    mvhd[16..20].copy_from_slice(&(seconds * 1000).to_be_bytes());
    let mut moov = Vec::new();
    moov.extend_from_slice(&((mvhd.len() + 8) as u32).to_be_bytes());
    moov.extend_from_slice(b"mvhd");
    moov.extend_from_slice(&mvhd);
    let mut out = Vec::new();
    out.extend_from_slice(&20u32.to_be_bytes());
    out.extend_from_slice(b"ftypM4A \0\0\0\0M4A ");
    out.extend_from_slice(&((moov.len() + 8) as u32).to_be_bytes());
    out.extend_from_slice(b"moov");
    out.extend_from_slice(&moov);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_mp4_header_gives_its_duration_and_garbage_gives_none() {
        let file = mp4_header_for_tests(42);
        let sniffed = infer::get(&file).map(|t| t.mime_type()).unwrap();
        assert_eq!(declared_seconds(&file, sniffed), Some(42));
        assert_eq!(declared_seconds(&file[..30], sniffed), None);
        assert_eq!(declared_seconds(b"\0\0\0\x01moovxxxx", "video/mp4"), None);
        assert_eq!(declared_seconds(&[0xff; 64], "video/mp4"), None);
        assert_eq!(declared_seconds(&file, "audio/ogg"), None);
    }

    #[test]
    fn a_wav_header_gives_data_size_over_byte_rate() {
        let mut wav = Vec::new();
        wav.extend_from_slice(b"RIFF\0\0\0\0WAVE");
        wav.extend_from_slice(b"fmt ");
        wav.extend_from_slice(&16u32.to_le_bytes());
        let mut fmt = [0u8; 16];
        fmt[8..12].copy_from_slice(&32_000u32.to_le_bytes()); // 16 kHz, 16 bit, mono
        wav.extend_from_slice(&fmt);
        wav.extend_from_slice(b"data");
        wav.extend_from_slice(&(32_000u32 * 7 + 5).to_le_bytes());
        assert_eq!(declared_seconds(&wav, "audio/x-wav"), Some(8));
    }
}
