//! Settings of the property tests named `fuzz_*`, which feed the parsers of untrusted input
//! (AWS JSON, SigV4, ListUsers filters, SRP parameters, import CSV) arbitrary and mutated input.
//! By default each runs a modest number of cases, so that all of them together stay well within
//! a minute of a debug test run; `PROPTEST_CASES` asks for a long run (README, "Fuzzing").

use proptest::test_runner::Config;

/// Cases of a test whose case takes about a millisecond or less in a debug build.
const DEFAULT_CASES: u32 = 1024;

/// [`DEFAULT_CASES`] cases, or `PROPTEST_CASES` when it is set; proptest reads its other
/// `PROPTEST_*` variables as usual.
pub fn config() -> Config {
    scaled(DEFAULT_CASES, 1)
}

/// For a test whose cases are expensive (a whole SRP sign-in): `cases` cases, or
/// `PROPTEST_CASES / divisor` (at least `cases`) when it is set, so that a long run of every
/// test is not spent on this one.
pub fn scaled(cases: u32, divisor: u32) -> Config {
    // `Config::default()` is where proptest applies the environment; `with_cases` would not.
    let from_environment = Config::default();
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() {
        (from_environment.cases / divisor.max(1)).max(cases)
    } else {
        cases
    };
    Config {
        cases,
        ..from_environment
    }
}
