//! Compile-time behaviour of the derives: misuse fails with a spanned, actionable error, and
//! every documented form compiles.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
