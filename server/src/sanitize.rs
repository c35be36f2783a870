//! File names from clients are display strings only: never part of a storage path.

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Longest display name kept, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// Longest file name a client may send, in bytes, before it is sanitized: anything longer is
/// refused rather than cut, so a name is never the way to make the server hold megabytes.
pub const MAX_RAW_NAME_BYTES: usize = 1024;

/// Longest MIME type a client may declare, in bytes.
pub const MAX_MIME_BYTES: usize = 255;

/// Longest custom id a middleware may attach to a file, in bytes.
pub const MAX_CUSTOM_ID_BYTES: usize = 128;

/// Refuses (`BAD_REQUEST`) a client file name over [`MAX_RAW_NAME_BYTES`]; `index` names the
/// file in the message.
pub(crate) fn check_raw_name(raw: &str, index: usize) -> Result<(), crate::error::UploadError> {
    if raw.len() > MAX_RAW_NAME_BYTES {
        return Err(crate::error::UploadError::bad_request(format!(
            "the name of file {index} is longer than {MAX_RAW_NAME_BYTES} bytes"
        ))
        .with_data(serde_json::json!({ "index": index, "limit": MAX_RAW_NAME_BYTES })));
    }
    Ok(())
}

/// Makes a client file name safe to show and to put in `Content-Disposition`:
/// drops any directory part (`../`, `C:\`), control characters, format characters (Unicode
/// category Cf: bidi overrides such as U+202E that disguise `evil\u{202E}gnp.exe` as
/// `evilexe.png`, zero-width characters, …), line and paragraph separators and quotes;
/// normalizes to NFC, trims dots and spaces, caps the length, and falls back to `file` when
/// nothing is left.
pub fn sanitize_filename(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|&c| {
            !c.is_control()
                && !matches!(
                    c.general_category(),
                    GeneralCategory::Format
                        | GeneralCategory::LineSeparator
                        | GeneralCategory::ParagraphSeparator
                )
                && !matches!(c, '"' | '<' | '>' | ':' | '|' | '?' | '*')
        })
        .nfc()
        .collect();
    let trimmed = cleaned.trim_matches(|c: char| c == '.' || c.is_whitespace());
    let mut name: String = trimmed.chars().take(MAX_NAME_CHARS).collect();
    if name.is_empty() {
        name.push_str("file");
    }
    name
}

/// What logs say instead of a key, a tus id or a signed URL (each is a capability): the
/// first 6 hex digits of its SHA-256, enough to follow one upload through the log and useless
/// for reaching it.
pub(crate) fn log_tag(capability: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(capability.as_bytes());
    crate::storage::local::hex(&digest[..3])
}

#[cfg(test)]
mod tests {
    use super::sanitize_filename;

    #[test]
    fn log_tags_are_short_fingerprints() {
        let key = "mXtYKAHIGG4UaH4XS4PTE2_MGH0";
        let tag = super::log_tag(key);
        assert_eq!(tag.len(), 6);
        assert!(tag.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(!key.contains(&tag));
        assert_eq!(tag, super::log_tag(key));
        assert_ne!(tag, super::log_tag("mXtYKAHIGG4UaH4XS4PTE2_MGH1"));
        // SHA-256("abc") starts with ba7816
        assert_eq!(super::log_tag("abc"), "ba7816");
    }

    #[test]
    fn directories_and_traversal_are_dropped() {
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_filename("C:\\Users\\me\\cat.png"), "cat.png");
        assert_eq!(sanitize_filename(".."), "file");
        assert_eq!(sanitize_filename("/"), "file");
    }

    #[test]
    fn control_characters_and_quotes_are_removed() {
        assert_eq!(sanitize_filename("a\r\nb\u{0}c.txt"), "abc.txt");
        assert_eq!(sanitize_filename("say \"hi\".txt"), "say hi.txt");
    }

    #[test]
    fn format_characters_are_removed() {
        // U+202E RIGHT-TO-LEFT OVERRIDE would show `evil\u{202E}gnp.exe` as `evilexe.png`.
        assert_eq!(sanitize_filename("evil\u{202E}gnp.exe"), "evilgnp.exe");
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{2066}', '\u{2067}', '\u{2068}',
            '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}', '\u{200B}', '\u{200C}', '\u{200D}',
            '\u{2060}', '\u{FEFF}', '\u{00AD}', '\u{2028}', '\u{2029}',
        ] {
            assert_eq!(
                sanitize_filename(&format!("a{c}b.txt")),
                "ab.txt",
                "U+{:04X} survived",
                c as u32
            );
        }
        assert_eq!(sanitize_filename("\u{202E}\u{200B}"), "file");
    }

    #[test]
    fn names_are_normalized_to_nfc() {
        // `e` + COMBINING ACUTE ACCENT becomes the single `é`.
        assert_eq!(sanitize_filename("re\u{301}sume\u{301}.pdf"), "résumé.pdf");
        // a format character between a letter and its mark does not keep them apart
        assert_eq!(sanitize_filename("e\u{200B}\u{301}.txt"), "\u{e9}.txt");
        assert_eq!(sanitize_filename("\u{212B}.txt"), "\u{C5}.txt");
    }

    #[test]
    fn unicode_survives_and_length_is_capped() {
        assert_eq!(sanitize_filename("résumé 2024.pdf"), "résumé 2024.pdf");
        assert_eq!(
            sanitize_filename(&"x".repeat(500)).chars().count(),
            super::MAX_NAME_CHARS
        );
    }
}
