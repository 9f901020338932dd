//! Images for vision calls: format sniffed from the bytes, sent as base64 data URLs.
//!
//! Instagram's CDN URLs expire and need no model access, so inkdesk downloads images
//! itself and sends them inline.

use std::fmt;

use base64::Engine as _;
use bytes::Bytes;

/// How closely the model should look at an image (cost versus detail).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImageDetail {
    /// The server chooses.
    #[default]
    Auto,
    /// A cheap, low-resolution look.
    Low,
    /// A full-resolution look (needed to read sizes off a reference photo).
    High,
}

impl ImageDetail {
    /// The wire name: `auto`, `low` or `high`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Low => "low",
            Self::High => "high",
        }
    }
}

/// Image formats vision servers accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// JPEG.
    Jpeg,
    /// PNG.
    Png,
    /// GIF (servers read the first frame).
    Gif,
    /// WebP.
    Webp,
}

impl ImageFormat {
    /// Recognises the format from the file's magic number.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        match bytes {
            [0xFF, 0xD8, 0xFF, ..] => Some(Self::Jpeg),
            [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(Self::Png),
            [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some(Self::Gif),
            [
                b'R',
                b'I',
                b'F',
                b'F',
                _,
                _,
                _,
                _,
                b'W',
                b'E',
                b'B',
                b'P',
                ..,
            ] => Some(Self::Webp),
            _ => None,
        }
    }

    /// The MIME type, e.g. `image/jpeg`.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Gif => "image/gif",
            Self::Webp => "image/webp",
        }
    }
}

/// Bytes that are not a JPEG, PNG, GIF or WebP image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported image: not JPEG, PNG, GIF or WebP ({len} bytes)")]
pub struct UnsupportedImage {
    /// How many bytes were offered.
    pub len: usize,
}

/// An image to show the model.
///
/// The format is checked when the part is made, so a request never carries an image the
/// server would refuse for its type.
#[derive(Clone, PartialEq)]
pub struct ImagePart {
    bytes: Bytes,
    format: ImageFormat,
    detail: ImageDetail,
}

impl ImagePart {
    /// Wraps image bytes, detecting the format from them.
    pub fn new(bytes: impl Into<Bytes>, detail: ImageDetail) -> Result<Self, UnsupportedImage> {
        let bytes = bytes.into();
        let format = ImageFormat::sniff(&bytes).ok_or(UnsupportedImage { len: bytes.len() })?;
        Ok(Self {
            bytes,
            format,
            detail,
        })
    }

    /// The image bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The detected format.
    pub fn format(&self) -> ImageFormat {
        self.format
    }

    /// The requested detail.
    pub fn detail(&self) -> ImageDetail {
        self.detail
    }

    /// The image as `data:<mime>;base64,<data>`.
    pub fn data_url(&self) -> String {
        let prefix = format!("data:{};base64,", self.format.mime());
        let mut url = String::with_capacity(prefix.len() + self.bytes.len().div_ceil(3) * 4);
        url.push_str(&prefix);
        base64::engine::general_purpose::STANDARD.encode_string(&self.bytes, &mut url);
        url
    }
}

// Never dump image bytes into logs: show what matters.
impl fmt::Debug for ImagePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImagePart")
            .field("format", &self.format)
            .field("len", &self.bytes.len())
            .field("detail", &self.detail)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG_1X1: &[u8] = &[
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D,
    ];

    #[test]
    fn sniffs_the_four_accepted_formats_from_magic_numbers() {
        assert_eq!(
            ImageFormat::sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]),
            Some(ImageFormat::Jpeg)
        );
        assert_eq!(ImageFormat::sniff(PNG_1X1), Some(ImageFormat::Png));
        assert_eq!(
            ImageFormat::sniff(b"GIF89a\x01\x00"),
            Some(ImageFormat::Gif)
        );
        assert_eq!(
            ImageFormat::sniff(b"GIF87a\x01\x00"),
            Some(ImageFormat::Gif)
        );
        assert_eq!(
            ImageFormat::sniff(b"RIFF\x24\x00\x00\x00WEBPVP8 "),
            Some(ImageFormat::Webp)
        );
    }

    #[test]
    fn refuses_other_bytes() {
        for bad in [
            &b""[..],
            b"RIFF\x24\x00\x00\x00WAVEfmt ",
            b"<html>",
            b"\xFF\xD8",
        ] {
            assert_eq!(ImageFormat::sniff(bad), None, "{bad:?}");
        }
        let err = ImagePart::new(b"%PDF-1.7".to_vec(), ImageDetail::Low).unwrap_err();
        assert_eq!(err.len, 8);
    }

    #[test]
    fn data_url_names_the_sniffed_mime_and_encodes_base64() {
        let part = ImagePart::new(PNG_1X1.to_vec(), ImageDetail::High).unwrap();
        assert_eq!(part.data_url(), "data:image/png;base64,iVBORw0KGgoAAAAN");
    }

    #[test]
    fn debug_does_not_dump_bytes() {
        let part = ImagePart::new(PNG_1X1.to_vec(), ImageDetail::Low).unwrap();
        let shown = format!("{part:?}");
        assert!(shown.contains("len: 12"), "{shown}");
        assert!(!shown.contains("137"), "{shown}");
    }
}
