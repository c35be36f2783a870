//! "Did you mean …?" for misspelt file types, options and option values.

/// The candidate the user most likely meant, if one is close enough: a few typos away
/// (`imag` → `image`), or made of the same words with some left out (`max_size` →
/// `max_file_size`, `public` → `public-read`).
pub(crate) fn closest<'a>(input: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let input_lower = input.to_ascii_lowercase();
    let words = |s: &str| -> Vec<String> {
        s.split(['_', '-', '/'])
            .filter(|w| !w.is_empty())
            .map(str::to_ascii_lowercase)
            .collect()
    };
    let input_words = words(input);
    candidates
        .iter()
        .copied()
        .filter_map(|candidate| {
            let distance = edit_distance(&input_lower, &candidate.to_ascii_lowercase());
            let typo = distance <= (input.chars().count() / 3).max(2);
            let candidate_words = words(candidate);
            let same_words =
                !input_words.is_empty() && input_words.iter().all(|w| candidate_words.contains(w));
            (typo || same_words).then_some((distance, candidate))
        })
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

/// Edit distance where insertions, deletions, substitutions and swaps of two neighbouring
/// characters each cost one (optimal string alignment).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // d[i][j]: distance between a[..i] and b[..j].
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// `a, b or c` with each item in backticks.
pub(crate) fn list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [only] => format!("`{only}`"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(|i| format!("`{i}`")).collect();
            format!("{} or `{last}`", init.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{closest, edit_distance, list};

    #[test]
    fn distances_count_swaps_as_one_edit() {
        assert_eq!(edit_distance("image", "image"), 0);
        assert_eq!(edit_distance("imag", "image"), 1);
        assert_eq!(edit_distance("vidoe", "video"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn typos_and_missing_words_find_their_candidate() {
        let types = ["image", "video", "audio", "pdf", "text", "blob", "mime"];
        assert_eq!(closest("imag", &types), Some("image"));
        assert_eq!(closest("Image", &types), Some("image"));
        assert_eq!(closest("vidoe", &types), Some("video"));
        assert_eq!(closest("pfd", &types), Some("pdf"));
        assert_eq!(closest("img", &types), Some("image"));
        assert_eq!(closest("spreadsheet", &types), None);
        let options = [
            "max_file_size",
            "max_file_count",
            "min_file_count",
            "content_disposition",
            "acl",
        ];
        assert_eq!(closest("max_size", &options), Some("max_file_size"));
        assert_eq!(closest("max_count", &options), Some("max_file_count"));
        assert_eq!(closest("min_files", &options), None);
        assert_eq!(
            closest("disposition", &options),
            Some("content_disposition")
        );
        assert_eq!(closest("colour", &options), None);
        assert_eq!(
            closest("public", &["public-read", "private"]),
            Some("public-read")
        );
        assert_eq!(
            closest("privat", &["public-read", "private"]),
            Some("private")
        );
    }

    #[test]
    fn lists_read_naturally() {
        assert_eq!(list(&["a"]), "`a`");
        assert_eq!(list(&["a", "b"]), "`a` or `b`");
        assert_eq!(list(&["a", "b", "c"]), "`a`, `b` or `c`");
    }
}
