//! Settings of the property tests named `fuzz_*`, which feed the parsers of untrusted input
//! (AWS JSON, SigV4, ListUsers filters, SRP parameters, import CSV) arbitrary and mutated input.
//! By default each runs a modest number of cases, so that all of them together stay well within
//! a minute of a debug test run; `PROPTEST_CASES` asks for a long run (README, "Fuzzing").

use proptest::test_runner::{Config, TestRunner};

/// Cases of a test whose case takes about a millisecond or less in a debug build.
const DEFAULT_CASES: u32 = 1024;

/// The configuration of a `proptest!` block: [`DEFAULT_CASES`] cases. The macro then applies
/// `PROPTEST_CASES` and proptest's other `PROPTEST_*` variables over it.
pub fn config() -> Config {
    Config::with_cases(DEFAULT_CASES)
}

/// A runner for a test whose cases are expensive (a whole SRP sign-in), run with
/// [`TestRunner::run`] rather than `proptest!`, which would give it `PROPTEST_CASES` cases as
/// they are: `cases` cases, or `PROPTEST_CASES / divisor` (at least `cases`) when it is set, so
/// that a long run of every test is not spent on this one. `source_file` (`file!()`) is where
/// proptest keeps the seeds of failures, as it does for `proptest!` tests.
pub fn scaled_runner(cases: u32, divisor: u32, source_file: &'static str) -> TestRunner {
    // `Config::default()` is proptest's defaults with the `PROPTEST_*` variables applied.
    let from_environment = Config::default();
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() {
        (from_environment.cases / divisor.max(1)).max(cases)
    } else {
        cases
    };
    TestRunner::new(Config {
        cases,
        source_file: Some(source_file),
        ..from_environment
    })
}
