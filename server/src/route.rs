//! What a file route accepts: file types, limits and options, and how a file is matched to them.
//!
//! `#[file_route]` builds a [`RouteConfig`] at compile time; nothing here parses user strings at
//! run time except MIME types sent by clients.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

/// A kind of file a route accepts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FileType {
    /// `image/*`, 4MB by default.
    Image,
    /// `video/*`, 16MB by default.
    Video,
    /// `audio/*`, 8MB by default.
    Audio,
    /// `application/pdf`, 4MB by default.
    Pdf,
    /// `text/*`, 64KB by default.
    Text,
    /// Anything at all, 8MB by default.
    Blob,
    /// An explicit MIME type (`application/json`) or wildcard (`image/*`), 4MB by default.
    Mime(Cow<'static, str>),
}

const KB: u64 = 1024;
const MB: u64 = 1024 * KB;

impl FileType {
    /// The key used on the wire and in the route config: `image`, `pdf`, `application/json`, …
    pub fn as_str(&self) -> &str {
        match self {
            FileType::Image => "image",
            FileType::Video => "video",
            FileType::Audio => "audio",
            FileType::Pdf => "pdf",
            FileType::Text => "text",
            FileType::Blob => "blob",
            FileType::Mime(m) => m,
        }
    }

    /// The documented default for `max_file_size`.
    pub fn default_max_file_size(&self) -> u64 {
        match self {
            FileType::Image => 4 * MB,
            FileType::Video => 16 * MB,
            FileType::Audio => 8 * MB,
            FileType::Pdf => 4 * MB,
            FileType::Text => 64 * KB,
            FileType::Blob => 8 * MB,
            FileType::Mime(_) => 4 * MB,
        }
    }

    /// The MIME pattern the type stands for (`image/*`, `application/pdf`, `*/*`).
    pub fn pattern(&self) -> &str {
        match self {
            FileType::Image => "image/*",
            FileType::Video => "video/*",
            FileType::Audio => "audio/*",
            FileType::Pdf => "application/pdf",
            FileType::Text => "text/*",
            FileType::Blob => "*/*",
            FileType::Mime(m) => m,
        }
    }

    /// Does a (normalized, parameter-free) MIME type belong to this file type?
    pub fn matches(&self, mime: &str) -> bool {
        pattern_matches(self.pattern(), mime)
    }

    /// Higher is more specific: an exact MIME beats a wildcard, which beats `blob`.
    fn specificity(&self) -> u8 {
        let p = self.pattern();
        if p == "*/*" {
            0
        } else if p.ends_with("/*") {
            1
        } else {
            2
        }
    }
}

/// `image/*` matches `image/png`; `*/*` matches everything; otherwise exact, case-insensitive.
pub fn pattern_matches(pattern: &str, mime: &str) -> bool {
    if pattern == "*/*" || pattern == "*" {
        return true;
    }
    match pattern.strip_suffix("/*") {
        Some(top) => mime
            .split_once('/')
            .is_some_and(|(t, _)| t.eq_ignore_ascii_case(top)),
        None => pattern.eq_ignore_ascii_case(mime),
    }
}

/// Lower-cases a client-sent MIME type and drops its parameters (`text/plain; charset=utf-8`).
/// Returns `None` for anything that is not `type/subtype`, or longer than
/// [`MAX_MIME_BYTES`](crate::sanitize::MAX_MIME_BYTES).
pub fn normalize_mime(raw: &str) -> Option<String> {
    if raw.len() > crate::sanitize::MAX_MIME_BYTES {
        return None;
    }
    let m: mime::Mime = raw.trim().parse().ok()?;
    Some(m.essence_str().to_ascii_lowercase())
}

/// How browsers should present a served file.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema, TS,
)]
#[serde(rename_all = "lowercase")]
pub enum ContentDisposition {
    /// Browsers show the file where they can (the default).
    #[default]
    Inline,
    /// Browsers download the file under its name.
    Attachment,
}

impl ContentDisposition {
    /// The `Content-Disposition` type as sent: `inline` or `attachment`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContentDisposition::Inline => "inline",
            ContentDisposition::Attachment => "attachment",
        }
    }
}

/// Who may read a stored file: anyone with its URL, or only holders of a signed GET URL.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema, TS,
)]
pub enum Acl {
    /// Anyone with the file's URL may read it; the URL is permanent (the default for file routes).
    #[default]
    #[serde(rename = "public-read")]
    PublicRead,
    /// Only holders of a signed, expiring GET URL may read the file.
    #[serde(rename = "private")]
    Private,
}

impl Acl {
    /// The ACL as written on the wire and in records: `public-read` or `private`.
    pub fn as_str(self) -> &'static str {
        match self {
            Acl::PublicRead => "public-read",
            Acl::Private => "private",
        }
    }
    /// The ACL `public-read` or `private` names; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "public-read" => Some(Acl::PublicRead),
            "private" => Some(Acl::Private),
            _ => None,
        }
    }
}

/// The limits and options for one file type of a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeRule {
    /// Which files the rule covers.
    pub file_type: FileType,
    /// The largest file, in bytes. Default: by type (image 4 MB, video 16 MB, audio 8 MB, pdf 4 MB,
    /// text 64 KB, blob 8 MB, a MIME type 4 MB).
    pub max_file_size: u64,
    /// The most files of this type in one upload. Default 1.
    pub max_file_count: u32,
    /// The fewest files of this type in one upload. Default 1.
    pub min_file_count: u32,
    /// How files of this type are served. Default `inline`.
    pub content_disposition: ContentDisposition,
    /// Who may read files of this type. Default `public-read`.
    pub acl: Acl,
}

impl TypeRule {
    /// A rule with the documented defaults: size by type, at most one file, at least one,
    /// `inline`, `public-read`.
    pub fn new(file_type: FileType) -> Self {
        TypeRule {
            max_file_size: file_type.default_max_file_size(),
            file_type,
            max_file_count: 1,
            min_file_count: 1,
            content_disposition: ContentDisposition::Inline,
            acl: Acl::PublicRead,
        }
    }
    /// Sets the field `max_file_size`, in bytes.
    pub fn max_file_size(mut self, bytes: u64) -> Self {
        self.max_file_size = bytes;
        self
    }
    /// Sets the field `max_file_count`.
    pub fn max_file_count(mut self, n: u32) -> Self {
        self.max_file_count = n;
        self
    }
    /// Sets the field `min_file_count`.
    pub fn min_file_count(mut self, n: u32) -> Self {
        self.min_file_count = n;
        self
    }
    /// Sets the field `content_disposition`.
    pub fn content_disposition(mut self, d: ContentDisposition) -> Self {
        self.content_disposition = d;
        self
    }
    /// Sets the field `acl`.
    pub fn acl(mut self, acl: Acl) -> Self {
        self.acl = acl;
        self
    }
}

/// Everything the server enforces for one route, and what `GET {base}` tells clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteConfig {
    /// The route's name on the wire (camelCase by default).
    pub slug: Cow<'static, str>,
    /// The file types the route accepts, each with its limits. A file must match one of them.
    pub types: Vec<TypeRule>,
    /// The client's upload resolves only once the completion hook has answered.
    pub await_server_data: bool,
    /// At most this many files per upload, whatever their types.
    pub max_total_file_count: Option<u32>,
    /// At most this many bytes per upload, all files together.
    pub max_total_size: Option<u64>,
    /// What the route is for: the doc comment of its middleware, for the OpenAPI document.
    pub description: Option<Cow<'static, str>>,
}

impl RouteConfig {
    /// A route named `slug` with no file type yet, no route-wide limits, and `await_server_data`
    /// off.
    pub fn new(slug: impl Into<Cow<'static, str>>) -> Self {
        RouteConfig {
            slug: slug.into(),
            types: Vec::new(),
            await_server_data: false,
            max_total_file_count: None,
            max_total_size: None,
            description: None,
        }
    }
    /// Accepts one more file type, with its limits.
    pub fn file_type(mut self, rule: TypeRule) -> Self {
        self.types.push(rule);
        self
    }
    /// Sets the field `await_server_data`.
    pub fn await_server_data(mut self, yes: bool) -> Self {
        self.await_server_data = yes;
        self
    }
    /// Sets the field `max_total_file_count`.
    pub fn max_total_file_count(mut self, n: u32) -> Self {
        self.max_total_file_count = Some(n);
        self
    }
    /// Sets the field `max_total_size`, in bytes.
    pub fn max_total_size(mut self, bytes: u64) -> Self {
        self.max_total_size = Some(bytes);
        self
    }
    /// Describes the route in the OpenAPI document (Markdown).
    pub fn description(mut self, text: impl Into<Cow<'static, str>>) -> Self {
        self.description = Some(text.into());
        self
    }

    /// The rule a file of this (normalized) MIME type falls under: the most specific match.
    pub fn rule_for(&self, mime: &str) -> Option<(usize, &TypeRule)> {
        self.types
            .iter()
            .enumerate()
            .filter(|(_, r)| r.file_type.matches(mime))
            .max_by_key(|(i, r)| (r.file_type.specificity(), std::cmp::Reverse(*i)))
    }

    /// The largest single file any rule allows (bounds multipart parts before their type is known).
    pub fn largest_file_size(&self) -> u64 {
        self.types
            .iter()
            .map(|r| r.max_file_size)
            .max()
            .unwrap_or(0)
    }

    /// The most files an upload may carry.
    pub fn max_files(&self) -> u32 {
        let per_type: u32 = self.types.iter().map(|r| r.max_file_count).sum();
        self.max_total_file_count
            .map_or(per_type, |t| t.min(per_type))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_their_top_level_type_only() {
        assert!(pattern_matches("image/*", "image/png"));
        assert!(pattern_matches("IMAGE/*", "image/png"));
        assert!(!pattern_matches("image/*", "video/mp4"));
        assert!(!pattern_matches("image/*", "imagex/png"));
        assert!(pattern_matches("*/*", "application/x-anything"));
        assert!(pattern_matches("application/pdf", "application/pdf"));
        assert!(!pattern_matches("application/pdf", "application/pdfx"));
    }

    #[test]
    fn shorthands_cover_their_families() {
        assert!(FileType::Image.matches("image/webp"));
        assert!(FileType::Video.matches("video/mp4"));
        assert!(FileType::Audio.matches("audio/mpeg"));
        assert!(FileType::Pdf.matches("application/pdf"));
        assert!(!FileType::Pdf.matches("application/json"));
        assert!(FileType::Text.matches("text/plain"));
        assert!(FileType::Blob.matches("application/zip"));
    }

    #[test]
    fn defaults_follow_the_documented_table() {
        let r = TypeRule::new(FileType::Image);
        assert_eq!(r.max_file_size, 4 * 1024 * 1024);
        assert_eq!((r.max_file_count, r.min_file_count), (1, 1));
        assert_eq!(r.content_disposition, ContentDisposition::Inline);
        assert_eq!(TypeRule::new(FileType::Text).max_file_size, 64 * 1024);
        assert_eq!(
            TypeRule::new(FileType::Video).max_file_size,
            16 * 1024 * 1024
        );
        assert_eq!(
            TypeRule::new(FileType::Audio).max_file_size,
            8 * 1024 * 1024
        );
        assert_eq!(TypeRule::new(FileType::Blob).max_file_size, 8 * 1024 * 1024);
        assert_eq!(TypeRule::new(FileType::Pdf).max_file_size, 4 * 1024 * 1024);
        assert_eq!(
            TypeRule::new(FileType::Mime("application/json".into())).max_file_size,
            4 * 1024 * 1024
        );
    }

    #[test]
    fn the_most_specific_rule_wins() {
        let cfg = RouteConfig::new("x")
            .file_type(TypeRule::new(FileType::Blob))
            .file_type(TypeRule::new(FileType::Image))
            .file_type(TypeRule::new(FileType::Mime("image/png".into())));
        assert_eq!(cfg.rule_for("image/png").unwrap().0, 2);
        assert_eq!(cfg.rule_for("image/gif").unwrap().0, 1);
        assert_eq!(cfg.rule_for("application/zip").unwrap().0, 0);
        let images_only = RouteConfig::new("y").file_type(TypeRule::new(FileType::Image));
        assert!(images_only.rule_for("video/mp4").is_none());
    }

    #[test]
    fn client_mime_types_are_normalized() {
        assert_eq!(
            normalize_mime("Text/Plain; charset=UTF-8").as_deref(),
            Some("text/plain")
        );
        assert_eq!(normalize_mime("image/png").as_deref(), Some("image/png"));
        assert_eq!(normalize_mime("nonsense"), None);
        let long = format!("image/{}", "a".repeat(300));
        assert_eq!(normalize_mime(&long), None);
        assert_eq!(normalize_mime(&long[..255]).map(|m| m.len()), Some(255));
    }
}

#[cfg(test)]
mod proptests {
    use super::{normalize_mime, pattern_matches};
    use proptest::prelude::*;

    /// A token of a MIME type (RFC 7230 `tchar`s).
    const TOKEN: &str = "[A-Za-z0-9!#$&^_.+\\-]{1,20}";

    proptest! {
        #[test]
        fn normalizing_never_panics_and_gives_a_bare_lowercase_type(raw in "\\PC{0,60}") {
            if let Some(m) = normalize_mime(&raw) {
                prop_assert_eq!(m.matches('/').count(), 1, "{}", m);
                prop_assert!(!m.contains(';') && !m.contains(char::is_whitespace), "{}", m);
                prop_assert_eq!(m.to_ascii_lowercase(), m.clone());
                // Normalizing twice changes nothing.
                prop_assert_eq!(normalize_mime(&m), Some(m.clone()));
            }
        }

        #[test]
        fn parameters_and_case_are_dropped(
            top in TOKEN,
            sub in TOKEN,
            params in proptest::collection::vec((TOKEN, "[A-Za-z0-9]{1,10}"), 0..3),
        ) {
            let mut raw = format!("{top}/{sub}");
            for (k, v) in &params {
                raw.push_str(&format!("; {k}={v}"));
            }
            prop_assert_eq!(
                normalize_mime(&raw),
                Some(format!("{top}/{sub}").to_ascii_lowercase())
            );
        }

        #[test]
        fn a_type_without_a_slash_is_refused(raw in "[A-Za-z0-9.+\\-]{0,30}") {
            prop_assert_eq!(normalize_mime(&raw), None);
        }

        #[test]
        fn patterns_match_by_rule(
            top in TOKEN,
            sub in TOKEN,
            other in TOKEN,
            mime in "\\PC{0,40}",
        ) {
            let exact = format!("{top}/{sub}");
            // `*/*` and `*` take anything.
            prop_assert!(pattern_matches("*/*", &mime));
            prop_assert!(pattern_matches("*", &mime));
            // An exact type matches itself in any case, and nothing with another subtype.
            prop_assert!(pattern_matches(&exact, &exact.to_ascii_uppercase()));
            prop_assert_eq!(
                pattern_matches(&exact, &format!("{top}/{other}")),
                sub.eq_ignore_ascii_case(&other)
            );
            // `top/*` matches exactly the types whose top-level type is `top`.
            let wildcard = format!("{top}/*");
            let upper = format!("{}/{other}", top.to_ascii_uppercase());
            prop_assert!(pattern_matches(&wildcard, &upper));
            prop_assert_eq!(
                pattern_matches(&wildcard, &format!("{other}/{sub}")),
                top.eq_ignore_ascii_case(&other)
            );
            // Anything without a `/` matches no `top/*`.
            if !mime.contains('/') {
                prop_assert!(!pattern_matches(&wildcard, &mime));
            }
        }
    }
}
