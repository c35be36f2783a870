//! Folder and file names of signed uploads: checked before anything is signed and again on
//! every request, so a URL, form or token never writes outside its folder.

use crate::error::{ErrorCode, UploadError};

/// Longest segment, in bytes (a common file-system name limit).
pub const MAX_SEGMENT: usize = 255;
/// Longest whole path, in bytes.
pub const MAX_PATH: usize = 1024;

fn invalid(what: &str, why: &str) -> UploadError {
    UploadError::new(
        ErrorCode::InvalidPath,
        format!("{what} is not allowed: {why}"),
    )
    .with_data(serde_json::json!({ "reason": why }))
}

/// Checks one already-decoded name.
fn check_segment(seg: &str) -> Result<(), UploadError> {
    if seg.is_empty() {
        return Err(invalid(
            "the path",
            "an empty segment (`//`, or a trailing `/`)",
        ));
    }
    if seg == "." || seg == ".." {
        return Err(invalid("the path", "a `.` or `..` segment"));
    }
    if seg.len() > MAX_SEGMENT {
        return Err(invalid("the path", "a segment longer than 255 bytes"));
    }
    if seg.contains('\\') {
        return Err(invalid("the path", "a backslash"));
    }
    if seg.chars().any(char::is_control) {
        return Err(invalid("the path", "NUL or another control character"));
    }
    let lower = seg.to_ascii_lowercase();
    if lower.contains("%2f") || lower.contains("%5c") {
        return Err(invalid("the path", "an encoded separator"));
    }
    Ok(())
}

/// A `/`-separated relative path of checked segments (a folder, or `folder/filename`).
pub fn check(path: &str) -> Result<(), UploadError> {
    if path.is_empty() {
        return Err(invalid("the path", "it is empty"));
    }
    if path.starts_with('/') {
        return Err(invalid("the path", "it is absolute (starts with `/`)"));
    }
    if path.len() > MAX_PATH {
        return Err(invalid("the path", "it is longer than 1024 bytes"));
    }
    path.split('/').try_for_each(check_segment)
}

/// `folder/filename` from its parts, checked as a whole.
pub fn join(folder: &str, filename: &str) -> Result<String, UploadError> {
    check(folder)?;
    check(filename)?;
    let full = format!("{folder}/{filename}");
    check(&full)?;
    Ok(full)
}

/// Splits a checked path into its folder and its last segment.
pub fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

/// Decodes the raw (still percent-encoded) path of a request below `{base}/objects/`, one
/// segment at a time, refusing anything that decodes to a separator, is not UTF-8 or fails
/// [`check`]. Decoding happens once: `%252F` stays `%2F`, and that is refused too.
pub fn from_request(raw: &str) -> Result<String, UploadError> {
    if raw.is_empty() {
        return Err(invalid("the path", "it is empty"));
    }
    if raw.starts_with('/') {
        return Err(invalid("the path", "it is absolute (starts with `/`)"));
    }
    let mut out = Vec::new();
    for seg in raw.split('/') {
        let decoded = percent_encoding::percent_decode_str(seg)
            .decode_utf8()
            .map_err(|_| invalid("the path", "it is not UTF-8"))?;
        if decoded.contains('/') || decoded.contains('\\') {
            return Err(invalid("the path", "an encoded separator"));
        }
        check_segment(&decoded)?;
        out.push(decoded.into_owned());
    }
    let path = out.join("/");
    check(&path)?;
    Ok(path)
}

/// Percent-encodes each segment for a URL (the `/` between them stay).
pub fn to_url(path: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    path.split('/')
        .map(|s| percent_encoding::utf8_percent_encode(s, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_nested_paths_pass() {
        assert!(check("a/b/c.png").is_ok());
        assert!(check(".hidden/x").is_ok());
        assert!(check("ünïcödé/名前.txt").is_ok());
        assert_eq!(join("a/b", "c/d.png").unwrap(), "a/b/c/d.png");
        assert_eq!(split("a/b/c.png"), ("a/b", "c.png"));
    }

    #[test]
    fn unsafe_paths_are_refused() {
        for bad in [
            "", "/abs", "a//b", "a/", "../x", "a/../b", "a/./b", ".", "a\\b", "a/b\0c", "a/\u{7}",
            "a/\n", "a%2Fb", "a%5cb",
        ] {
            let e = check(bad).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidPath, "{bad:?}");
        }
        assert!(check(&"a".repeat(256)).is_err());
        assert!(check(&["a"; 600].join("/")).is_err());
        assert!(join("a", "../b").is_err());
        assert!(join("", "b").is_err());
    }

    #[test]
    fn request_paths_are_decoded_once_and_checked() {
        assert_eq!(from_request("a/b%20c/d.png").unwrap(), "a/b c/d.png");
        for bad in [
            "a/%2e%2e/b",
            "a/%2E%2E",
            "a%2Fb",
            "a%2fb",
            "a%5Cb",
            "a/%252F",
            "a/%00",
            "a/%0a",
            "/a",
            "a//b",
            "a/..",
            "a/%ff",
        ] {
            assert_eq!(
                from_request(bad).unwrap_err().code(),
                ErrorCode::InvalidPath,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn urls_round_trip() {
        let p = "a b/c%d/é.png";
        assert_eq!(from_request(&to_url(p)).unwrap(), p);
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;
    use std::path::{Component, Path};

    /// A raw request path built from the pieces that make paths dangerous: dots, separators
    /// (plain, encoded, double-encoded), backslashes, percent signs, control characters.
    fn tricky_raw() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("."),
            Just(".."),
            Just("/"),
            Just("\\"),
            Just("%2e"),
            Just("%2E"),
            Just("%2f"),
            Just("%2F"),
            Just("%5c"),
            Just("%252F"),
            Just("%00"),
            Just("%0a"),
            Just("%"),
            Just("%ff"),
            Just("%c3%a9"),
            Just("a"),
            Just("é"),
            Just(" "),
        ];
        proptest::collection::vec(piece, 0..12).prop_map(|p| p.concat())
    }

    /// Whatever `from_request` accepts stays inside the folder it is joined to.
    fn stays_inside(path: &str) -> Result<(), TestCaseError> {
        prop_assert!(check(path).is_ok(), "{path:?}");
        for seg in path.split('/') {
            prop_assert!(!seg.is_empty() && seg != "." && seg != "..", "{path:?}");
            prop_assert!(
                !seg.contains('\\') && !seg.chars().any(char::is_control),
                "{path:?}"
            );
        }
        prop_assert!(
            Path::new(path)
                .components()
                .all(|c| matches!(c, Component::Normal(_))),
            "{path:?}"
        );
        let base = Path::new("/srv/objects");
        prop_assert!(base.join(path).starts_with(base));
        Ok(())
    }

    proptest! {
        #[test]
        fn arbitrary_request_paths_are_safe_or_refused_with_invalid_path(raw in "\\PC{0,80}") {
            match from_request(&raw) {
                Ok(path) => stays_inside(&path)?,
                Err(e) => prop_assert_eq!(e.code(), ErrorCode::InvalidPath),
            }
        }

        #[test]
        fn tricky_request_paths_are_safe_or_refused_with_invalid_path(raw in tricky_raw()) {
            match from_request(&raw) {
                Ok(path) => stays_inside(&path)?,
                Err(e) => prop_assert_eq!(e.code(), ErrorCode::InvalidPath),
            }
        }

        #[test]
        fn checked_paths_round_trip_through_their_url(
            segments in proptest::collection::vec("[^/]{1,30}", 1..6),
        ) {
            let path = segments.join("/");
            match check(&path) {
                Ok(()) => {
                    let url = to_url(&path);
                    prop_assert!(url.is_ascii(), "{url}");
                    prop_assert_eq!(from_request(&url).unwrap(), path.clone());
                    let (folder, name) = split(&path);
                    if !folder.is_empty() {
                        prop_assert_eq!(join(folder, name).unwrap(), path);
                    }
                }
                Err(e) => {
                    prop_assert_eq!(e.code(), ErrorCode::InvalidPath);
                    prop_assert!(from_request(&to_url(&path)).is_err());
                }
            }
        }

        #[test]
        fn joining_never_escapes_the_folder(folder in tricky_raw(), name in tricky_raw()) {
            match join(&folder, &name) {
                Ok(path) => {
                    stays_inside(&path)?;
                    let prefix = format!("{folder}/");
                    prop_assert!(path.starts_with(&prefix));
                }
                Err(e) => prop_assert_eq!(e.code(), ErrorCode::InvalidPath),
            }
        }
    }
}
