//! Compile-time behaviour of `#[uplift::file_route]`: what it accepts, and how it reports
//! what it does not. Regenerate the expected output with `TRYBUILD=overwrite` and read it.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
