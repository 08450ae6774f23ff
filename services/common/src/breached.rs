//! Compromised-password detection: a bundled list of commonly breached passwords, and an
//! operator-supplied file in Have I Been Pwned's format (`SHA1HEX:count` lines sorted by hash, as
//! the "ordered by hash" downloads are) that is binary-searched on disk, so a file of a billion
//! lines costs about thirty reads from the page cache per check and no memory.

use std::collections::HashSet;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use anyhow::{Context, bail};

use crate::error::{CognitoResult, internal};

/// The 10,000 most common passwords (see `data/README.md` for where they come from).
const COMMON: &str = include_str!("../data/common-passwords.txt");

/// The longest line a HIBP file holds: 40 hex digits, a colon and a count.
const MAX_LINE: usize = 64;

fn common() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| COMMON.lines().collect())
}

/// Answers "has this password been seen in a breach?".
#[derive(Clone, Debug, Default)]
pub struct BreachedPasswords {
    file: Option<Arc<HashFile>>,
}

impl BreachedPasswords {
    /// The bundled list, plus the HIBP file at `path` when one is configured. The file is checked
    /// once here (readable, sorted lines of the right shape) so a mistake stops the start.
    pub fn new(path: Option<&Path>) -> anyhow::Result<Self> {
        let file = path.map(HashFile::open).transpose()?.map(Arc::new);
        Ok(Self { file })
    }

    /// True when the password, or its all-lowercase form, is on the bundled list, or its SHA-1
    /// is in the operator's file.
    pub async fn is_breached(&self, password: &str) -> CognitoResult<bool> {
        let common = common();
        if common.contains(password) || common.contains(password.to_lowercase().as_str()) {
            return Ok(true);
        }
        let Some(file) = self.file.clone() else {
            return Ok(false);
        };
        let digest = sha1_hex(password);
        tokio::task::spawn_blocking(move || file.contains(&digest))
            .await
            .map_err(|error| internal("breached-password lookup task failed", error))?
            .map_err(|error| internal("breached-password file unreadable", error))
    }
}

fn sha1_hex(password: &str) -> [u8; 40] {
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        password.as_bytes(),
    );
    let mut hex = [0u8; 40];
    hex::encode_to_slice(digest.as_ref(), &mut hex).expect("20 bytes fill 40 hex digits");
    hex.make_ascii_uppercase();
    hex
}

/// A sorted file of `HASH:count` lines.
#[derive(Debug)]
struct HashFile {
    file: File,
    len: u64,
}

impl HashFile {
    fn open(path: &Path) -> anyhow::Result<Self> {
        let file = File::open(path).with_context(|| {
            format!("cannot open the breached-passwords file {}", path.display())
        })?;
        let len = file.metadata()?.len();
        let hash_file = Self { file, len };
        if len > 0 {
            let (first, _) = hash_file.line_at(0)?;
            if !is_hash_line(&first) {
                bail!(
                    "{} is not in Have I Been Pwned's format (SHA1HEX:count lines sorted by hash); \
                     its first line is {:?}",
                    path.display(),
                    String::from_utf8_lossy(&first)
                );
            }
        }
        Ok(hash_file)
    }

    /// The whole line that starts at `start`, and where the next one starts.
    fn line_at(&self, start: u64) -> std::io::Result<(Vec<u8>, u64)> {
        let mut buffer = [0u8; MAX_LINE];
        let read = self.file.read_at(&mut buffer, start)?;
        let line = &buffer[..read];
        let end = line.iter().position(|&b| b == b'\n').unwrap_or(read);
        let text = line[..end].strip_suffix(b"\r").unwrap_or(&line[..end]);
        Ok((text.to_vec(), start + end as u64 + 1))
    }

    /// The start of the first line that begins at or after `offset`.
    fn next_line_start(&self, offset: u64) -> std::io::Result<u64> {
        if offset == 0 {
            return Ok(0);
        }
        let mut buffer = [0u8; MAX_LINE];
        let read = self.file.read_at(&mut buffer, offset - 1)?;
        Ok(buffer[..read]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.len, |newline| offset + newline as u64))
    }

    /// Binary search over byte offsets: each probe reads the first whole line after the middle.
    fn contains(&self, digest: &[u8; 40]) -> std::io::Result<bool> {
        let (mut low, mut high) = (0u64, self.len);
        while low < high {
            let middle = low + (high - low) / 2;
            let start = self.next_line_start(middle)?;
            if start >= high {
                // No line begins in [middle, high): the answer is in [low, middle).
                high = middle;
                continue;
            }
            let (line, next) = self.line_at(start)?;
            let hash = line.split(|&b| b == b':').next().unwrap_or_default();
            match hash.to_ascii_uppercase().as_slice().cmp(digest.as_slice()) {
                std::cmp::Ordering::Equal => return Ok(true),
                std::cmp::Ordering::Less => low = next,
                std::cmp::Ordering::Greater => high = start,
            }
        }
        Ok(false)
    }
}

fn is_hash_line(line: &[u8]) -> bool {
    let hash = line.split(|&b| b == b':').next().unwrap_or_default();
    hash.len() == 40 && hash.iter().all(u8::is_ascii_hexdigit)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file under the system's temporary directory, removed when dropped.
    struct TempFile(std::path::PathBuf);

    impl TempFile {
        fn with(contents: String) -> Self {
            let path = std::env::temp_dir().join(format!("hibp-{}.txt", uuid::Uuid::new_v4()));
            std::fs::write(&path, contents).expect("written");
            Self(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn hibp_file(passwords: &[&str]) -> TempFile {
        let mut lines: Vec<String> = passwords
            .iter()
            .enumerate()
            .map(|(count, password)| {
                format!(
                    "{}:{}",
                    String::from_utf8(sha1_hex(password).to_vec()).expect("hex"),
                    count + 1
                )
            })
            .collect();
        lines.sort();
        TempFile::with(lines.join("\r\n") + "\r\n")
    }

    #[test]
    fn sha1_is_hibp_uppercase_hex() {
        // HIBP's documented example: "P@ssw0rd".
        assert_eq!(
            &sha1_hex("P@ssw0rd"),
            b"21BD12DC183F740EE76F27B78EB39C8AD972A757"
        );
    }

    #[tokio::test]
    async fn the_bundled_list_catches_common_passwords_in_any_case() {
        let checker = BreachedPasswords::new(None).expect("opens");
        assert!(checker.is_breached("password1").await.expect("lookup"));
        assert!(checker.is_breached("Password1").await.expect("lookup"));
        assert!(checker.is_breached("QWERTY123").await.expect("lookup"));
        assert!(
            !checker
                .is_breached("Unlikely-Horse-Battery-71")
                .await
                .expect("lookup")
        );
    }

    #[tokio::test]
    async fn every_line_of_a_hibp_file_is_found_and_nothing_else() {
        let passwords: Vec<String> = (0..500).map(|i| format!("Operator-only-{i}!")).collect();
        let references: Vec<&str> = passwords.iter().map(String::as_str).collect();
        let file = hibp_file(&references);
        let checker = BreachedPasswords::new(Some(&file.0)).expect("opens");
        for password in &passwords {
            assert!(
                checker.is_breached(password).await.expect("lookup"),
                "{password}"
            );
        }
        for i in 0..500 {
            let absent = format!("Not-in-file-{i}?");
            assert!(
                !checker.is_breached(&absent).await.expect("lookup"),
                "{absent}"
            );
        }
    }

    #[tokio::test]
    async fn one_line_and_empty_files_work() {
        let file = hibp_file(&["Only-one-line-9"]);
        let checker = BreachedPasswords::new(Some(&file.0)).expect("opens");
        assert!(
            checker
                .is_breached("Only-one-line-9")
                .await
                .expect("lookup")
        );
        assert!(
            !checker
                .is_breached("Only-one-line-8")
                .await
                .expect("lookup")
        );
        let empty = TempFile::with(String::new());
        let checker = BreachedPasswords::new(Some(&empty.0)).expect("opens");
        assert!(
            !checker
                .is_breached("Only-one-line-9")
                .await
                .expect("lookup")
        );
    }

    #[test]
    fn a_file_in_another_format_stops_the_start() {
        let wrong = TempFile::with("password,123\n".to_owned());
        let error = BreachedPasswords::new(Some(&wrong.0)).expect_err("refused");
        assert!(error.to_string().contains("Have I Been Pwned"), "{error}");
        let missing = std::env::temp_dir().join("no-such-hibp-file.txt");
        assert!(BreachedPasswords::new(Some(&missing)).is_err());
    }
}
