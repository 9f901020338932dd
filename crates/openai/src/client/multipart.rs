//! A `multipart/form-data` body (RFC 7578) for the transcription upload: text fields and
//! one file part. Written here rather than pulled in: it is a few lines, and reqwest's
//! multipart feature would add dependencies for one request.

use bytes::{BufMut, Bytes, BytesMut};

/// A form being built.
#[derive(Debug, Default)]
pub(crate) struct Form {
    text: Vec<(&'static str, String)>,
    file: Option<FilePart>,
}

#[derive(Debug)]
struct FilePart {
    name: &'static str,
    file_name: String,
    content_type: String,
    bytes: Bytes,
}

impl Form {
    /// Adds a text field.
    pub(crate) fn text(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.text.push((name, value.into()));
        self
    }

    /// Sets the file part.
    pub(crate) fn file(
        mut self,
        name: &'static str,
        file_name: &str,
        content_type: &str,
        bytes: Bytes,
    ) -> Self {
        self.file = Some(FilePart {
            name,
            file_name: file_name.to_owned(),
            content_type: content_type.to_owned(),
            bytes,
        });
        self
    }

    /// The `Content-Type` header value and the body.
    pub(crate) fn encode(self) -> (String, Bytes) {
        let boundary = self.boundary();
        let mut body = BytesMut::new();
        if let Some(file) = &self.file {
            body.put_slice(format!("--{boundary}\r\n").as_bytes());
            body.put_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\n",
                    file.name,
                    quoted(&file.file_name)
                )
                .as_bytes(),
            );
            body.put_slice(format!("Content-Type: {}\r\n\r\n", file.content_type).as_bytes());
            body.put_slice(&file.bytes);
            body.put_slice(b"\r\n");
        }
        for (name, value) in &self.text {
            body.put_slice(format!("--{boundary}\r\n").as_bytes());
            body.put_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            );
            body.put_slice(value.as_bytes());
            body.put_slice(b"\r\n");
        }
        body.put_slice(format!("--{boundary}--\r\n").as_bytes());
        (
            format!("multipart/form-data; boundary={boundary}"),
            body.freeze(),
        )
    }

    /// A boundary that occurs in no part (checked, not hoped for).
    fn boundary(&self) -> String {
        let mut salt: u64 = 0x9e37_79b9_7f4a_7c15;
        loop {
            let candidate = format!("inkdesk-form-{salt:016x}");
            let needle = candidate.as_bytes();
            let clashes = |hay: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
            let in_file = self.file.as_ref().is_some_and(|f| clashes(&f.bytes));
            let in_text = self.text.iter().any(|(_, v)| clashes(v.as_bytes()));
            if !in_file && !in_text {
                return candidate;
            }
            salt = salt.wrapping_mul(0x0100_0000_01b3).wrapping_add(1);
        }
    }
}

/// A file name safe inside a quoted header parameter.
fn quoted(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c == '"' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_has_each_part_once_between_boundaries() {
        let (content_type, body) = Form::default()
            .file(
                "file",
                "voice-note.m4a",
                "audio/mp4",
                Bytes::from_static(b"\0\x01audio"),
            )
            .text("model", "gpt-4o-mini-transcribe")
            .text("language", "el")
            .encode();
        let boundary = content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(text.starts_with(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"voice-note.m4a\"\r\nContent-Type: audio/mp4\r\n\r\n\0\x01audio\r\n")), "{text}");
        assert!(text.contains(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\ngpt-4o-mini-transcribe\r\n")), "{text}");
        assert!(text.ends_with(&format!("--{boundary}--\r\n")), "{text}");
    }

    #[test]
    fn the_boundary_never_occurs_in_the_content() {
        let first = Form::default().boundary();
        // Content that contains the first choice forces another.
        let form =
            Form::default().file("file", "a\"b.ogg", "audio/ogg", Bytes::from(first.clone()));
        let (content_type, body) = form.encode();
        assert!(!content_type.ends_with(&first));
        assert!(String::from_utf8_lossy(&body).contains("filename=\"a_b.ogg\""));
    }
}
