//! File names from clients are display strings only: never part of a storage path.

/// Longest display name kept, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// Makes a client file name safe to show and to put in `Content-Disposition`:
/// drops any directory part (`../`, `C:\`), control characters and quotes, trims dots and
/// spaces, caps the length, and falls back to `file` when nothing is left.
pub fn sanitize_filename(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | ':' | '|' | '?' | '*'))
        .collect();
    let trimmed = cleaned.trim_matches(|c: char| c == '.' || c.is_whitespace());
    let mut name: String = trimmed.chars().take(MAX_NAME_CHARS).collect();
    if name.is_empty() {
        name.push_str("file");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::sanitize_filename;

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
    fn unicode_survives_and_length_is_capped() {
        assert_eq!(sanitize_filename("résumé 2024.pdf"), "résumé 2024.pdf");
        assert_eq!(
            sanitize_filename(&"x".repeat(500)).chars().count(),
            super::MAX_NAME_CHARS
        );
    }
}
