//! Human-readable sizes (`"2MB"`, `"1.5GB"`, `"512 kb"`), parsed at compile time.
//!
//! Units are 1024-based. Fractions are honoured and rounded down to whole bytes; a size that
//! comes out as zero bytes, or that does not fit in a `u64`, is refused.

/// Accepted units, smallest first, with their multipliers.
const UNITS: [(&str, u64); 5] = [
    ("B", 1),
    ("KB", 1 << 10),
    ("MB", 1 << 20),
    ("GB", 1 << 30),
    ("TB", 1 << 40),
];

/// More decimal places than this (after dropping trailing zeros) cannot be computed exactly
/// in `u128`; nobody writes them anyway.
const MAX_FRACTION_DIGITS: usize = 20;

const EXPECTED: &str =
    "expected a number followed by B, KB, MB, GB or TB, like \"4MB\" or \"1.5GB\"";

/// Parses a size string into bytes. The error is the complete message for the user.
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let number_len = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, rest) = trimmed.split_at(number_len);
    let unit = rest.trim_start();

    if trimmed.starts_with('-') {
        return Err(format!(
            "invalid size `{text}`: sizes cannot be negative; {EXPECTED}"
        ));
    }
    let Some((whole, fraction)) = split_number(number) else {
        return Err(format!("invalid size `{text}`: {EXPECTED}"));
    };
    if unit.is_empty() {
        return Err(format!(
            "size `{text}` has no unit: write \"{number}B\" for bytes, or use KB, MB, GB or TB, like \"4MB\""
        ));
    }
    let Some(multiplier) = UNITS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(unit))
        .map(|&(_, m)| m)
    else {
        return Err(format!("invalid size `{text}`: {EXPECTED}"));
    };

    let too_large = || {
        format!(
            "size `{text}` is too large: at most {} bytes fit in a u64",
            u64::MAX
        )
    };
    let whole: u128 = whole.parse().map_err(|_| too_large())?;
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > MAX_FRACTION_DIGITS {
        return Err(format!(
            "invalid size `{text}`: at most {MAX_FRACTION_DIGITS} decimal places are supported"
        ));
    }
    let fraction_bytes = if fraction.is_empty() {
        0
    } else {
        // floor(0.<fraction> * multiplier), exactly: fraction / 10^len * multiplier.
        let numerator: u128 = fraction.parse().expect("at most 20 ASCII digits");
        let denominator = 10u128.pow(fraction.len() as u32);
        numerator * u128::from(multiplier) / denominator
    };
    let bytes = whole
        .checked_mul(u128::from(multiplier))
        .and_then(|b| b.checked_add(fraction_bytes))
        .and_then(|b| u64::try_from(b).ok())
        .ok_or_else(too_large)?;
    if bytes == 0 {
        return Err(format!(
            "size `{text}` is zero bytes: a size must be at least 1B"
        ));
    }
    Ok(bytes)
}

/// `"12"` → `("12", "")`, `"1.5"` → `("1", "5")`; `None` for anything else (`""`, `"."`, `"1."`,
/// `".5"`, `"1.2.3"`).
fn split_number(number: &str) -> Option<(&str, &str)> {
    let (whole, fraction) = match number.split_once('.') {
        Some((w, f)) if !f.is_empty() && !f.contains('.') => (w, f),
        Some(_) => return None,
        None => (number, ""),
    };
    (!whole.is_empty()).then_some((whole, fraction))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn every_unit_is_1024_based() {
        assert_eq!(parse_size("100B"), Ok(100));
        assert_eq!(parse_size("512KB"), Ok(512 * 1024));
        assert_eq!(parse_size("2MB"), Ok(2 * 1024 * 1024));
        assert_eq!(parse_size("3GB"), Ok(3 * 1024 * 1024 * 1024));
        assert_eq!(parse_size("1TB"), Ok(1024u64.pow(4)));
    }

    #[test]
    fn fractions_are_honoured_and_rounded_down() {
        assert_eq!(parse_size("1.5GB"), Ok(1_610_612_736));
        assert_eq!(parse_size("0.5KB"), Ok(512));
        assert_eq!(parse_size("1.25MB"), Ok(1_310_720));
        assert_eq!(parse_size("1.5B"), Ok(1));
        assert_eq!(parse_size("0.001KB"), Ok(1)); // 1.024 bytes
        assert_eq!(parse_size("2.50MB"), Ok(2_621_440));
        assert_eq!(parse_size("1.0000000000000000000000000MB"), Ok(1 << 20));
    }

    #[test]
    fn units_are_case_insensitive_and_may_follow_a_space() {
        assert_eq!(parse_size("2mb"), Ok(2 << 20));
        assert_eq!(parse_size("2Mb"), Ok(2 << 20));
        assert_eq!(parse_size("2 MB"), Ok(2 << 20));
        assert_eq!(parse_size(" 4 kb "), Ok(4096));
        assert_eq!(parse_size("7b"), Ok(7));
    }

    #[test]
    fn unknown_units_and_malformed_numbers_are_refused() {
        let expected = |s: &str| {
            format!(
                "invalid size `{s}`: expected a number followed by B, KB, MB, GB or TB, like \"4MB\" or \"1.5GB\""
            )
        };
        for bad in [
            "2XB",
            "MB",
            "",
            "1.MB",
            ".5MB",
            "1.2.3MB",
            "2 M B",
            "2MiB",
            "two MB",
            "2MB extra",
        ] {
            assert_eq!(parse_size(bad), Err(expected(bad)), "{bad:?}");
        }
    }

    #[test]
    fn a_missing_unit_suggests_bytes() {
        assert_eq!(
            parse_size("1024"),
            Err("size `1024` has no unit: write \"1024B\" for bytes, or use KB, MB, GB or TB, like \"4MB\"".into())
        );
    }

    #[test]
    fn zero_and_negative_sizes_are_refused() {
        for zero in ["0B", "0MB", "0.5B", "0.0001KB"] {
            assert_eq!(
                parse_size(zero),
                Err(format!(
                    "size `{zero}` is zero bytes: a size must be at least 1B"
                )),
                "{zero}"
            );
        }
        assert!(parse_size("-1MB")
            .unwrap_err()
            .contains("cannot be negative"));
    }

    #[test]
    fn overflow_is_refused() {
        assert_eq!(parse_size("18446744073709551615B"), Ok(u64::MAX));
        for huge in [
            "18446744073709551616B",
            "16777216TB",
            "99999999999999999999999999999999999999999TB",
        ] {
            assert!(
                parse_size(huge).unwrap_err().contains("is too large"),
                "{huge}"
            );
        }
        assert_eq!(
            parse_size("16777215.99TB"),
            Ok(16_777_215 * (1 << 40) + 1_088_516_511_498)
        );
    }

    #[test]
    fn absurd_precision_is_refused() {
        assert!(parse_size("1.000000000000000000001MB")
            .unwrap_err()
            .contains("at most 20 decimal places"));
    }
}

#[cfg(test)]
mod proptests {
    use super::{parse_size, UNITS};
    use proptest::prelude::*;

    /// The beginnings every refusal has: each kind of mistake keeps its message.
    const REFUSALS: [&str; 2] = ["invalid size `", "size `"];
    const KINDS: [&str; 6] = [
        "sizes cannot be negative",
        "expected a number followed by",
        "has no unit",
        "is too large",
        "is zero bytes",
        "decimal places are supported",
    ];

    fn unit() -> impl Strategy<Value = (&'static str, u64)> {
        proptest::sample::select(&UNITS[..])
    }

    /// The unit as written: any letter case.
    fn spelled(name: &str, upper: &[bool]) -> String {
        name.chars()
            .zip(upper.iter().chain(std::iter::repeat(&false)))
            .map(|(c, &u)| {
                if u {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    }

    proptest! {
        #[test]
        fn never_panics_and_refusals_say_what_is_wrong(text in "\\PC{0,40}") {
            if let Err(e) = parse_size(&text) {
                prop_assert!(REFUSALS.iter().any(|p| e.starts_with(p)), "{e}");
                prop_assert!(KINDS.iter().any(|k| e.contains(k)), "{e}");
            }
        }

        #[test]
        fn near_misses_never_panic(text in "[ 0-9.\\-kKmMgGtTbBxX]{0,30}") {
            if let Ok(n) = parse_size(&text) {
                prop_assert!(n >= 1);
            }
        }

        #[test]
        fn whole_numbers_round_trip(
            n in any::<u64>(),
            (name, mult) in unit(),
            upper in proptest::collection::vec(any::<bool>(), 2),
            space in proptest::option::of("[ \t]{1,3}"),
        ) {
            let text = format!("{n}{}{}", space.unwrap_or_default(), spelled(name, &upper));
            match n.checked_mul(mult) {
                Some(0) => prop_assert!(parse_size(&text).unwrap_err().contains("is zero bytes")),
                Some(bytes) => prop_assert_eq!(parse_size(&text), Ok(bytes)),
                None => prop_assert!(parse_size(&text).unwrap_err().contains("is too large")),
            }
        }

        #[test]
        fn fractions_round_down_to_whole_bytes(
            whole in 0u64..1_000_000,
            fraction in "[0-9]{1,20}",
            (name, mult) in unit(),
        ) {
            let text = format!("{whole}.{fraction}{name}");
            let digits = fraction.trim_end_matches('0');
            let part = if digits.is_empty() {
                0
            } else {
                digits.parse::<u128>().unwrap() * u128::from(mult)
                    / 10u128.pow(digits.len() as u32)
            };
            let expected = u128::from(whole) * u128::from(mult) + part;
            match parse_size(&text) {
                Ok(bytes) => prop_assert_eq!(u128::from(bytes), expected),
                Err(e) => {
                    prop_assert_eq!(expected, 0);
                    prop_assert!(e.contains("is zero bytes"), "{e}");
                }
            }
            // Less than one more unit, never more.
            prop_assert!(expected < (u128::from(whole) + 1) * u128::from(mult));
        }

        #[test]
        fn negative_sizes_are_refused(n in 0u64..u64::MAX, (name, _) in unit()) {
            let e = parse_size(&format!("-{n}{name}")).unwrap_err();
            prop_assert!(e.contains("cannot be negative"), "{e}");
        }

        #[test]
        fn a_number_without_a_unit_is_refused(n in any::<u64>()) {
            let e = parse_size(&n.to_string()).unwrap_err();
            prop_assert!(e.contains("has no unit"), "{e}");
        }
    }
}
