//! YARA rules over executables with the pure-Rust `boreal` engine: the built-in rules
//! (`rules/*.yar`) plus every `*.yar`/`*.yara` file of `--rules DIR`. A malformed rule file is
//! skipped with a note; the other files still load.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The built-in rule files, embedded at build time.
pub const BUILTIN_RULES: &[(&str, &str)] =
    &[("builtin_miners", include_str!("../rules/miners.yar"))];

/// Largest rule file read from `--rules`.
const MAX_RULE_FILE: u64 = 4 * 1024 * 1024;
const MAX_RULE_FILES: usize = 256;

/// Compiled rules, ready to scan.
pub struct Rules {
    scanner: boreal::Scanner,
    /// Number of rule files loaded.
    pub files: usize,
}

impl std::fmt::Debug for Rules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rules").field("files", &self.files).finish()
    }
}

impl Rules {
    /// Compiles the built-in rules (when `builtin`) and the rule files under `dirs`. Returns the
    /// rules and a note for every file that was skipped.
    pub fn load(builtin: bool, dirs: &[PathBuf]) -> (Rules, Vec<String>) {
        let mut notes = Vec::new();
        let mut compiler = boreal::Compiler::new();
        let mut files = 0;
        let mut sources: Vec<(String, String, String)> = Vec::new();
        if builtin {
            for (ns, text) in BUILTIN_RULES {
                sources.push((ns.to_string(), text.to_string(), format!("builtin:{ns}")));
            }
        }
        for dir in dirs {
            collect_rule_files(dir, &mut sources, &mut notes);
        }
        for (ns, text, origin) in sources {
            // Check in a throwaway compiler first so a broken file cannot leave half its rules in.
            let mut probe = boreal::Compiler::new();
            if let Err(e) = probe.add_rules_str_in_namespace(&text, &ns) {
                notes.push(format!(
                    "rules {origin}: skipped: {}",
                    one_line(&e.to_string())
                ));
                continue;
            }
            match compiler.add_rules_str_in_namespace(&text, &ns) {
                Ok(_) => files += 1,
                Err(e) => notes.push(format!(
                    "rules {origin}: skipped: {}",
                    one_line(&e.to_string())
                )),
            }
        }
        let mut scanner = compiler.finalize();
        scanner.set_scan_params(
            boreal::scanner::ScanParams::default().timeout_duration(Some(Duration::from_secs(5))),
        );
        (Rules { scanner, files }, notes)
    }

    /// The names (`namespace:rule`) of the rules that match `bytes`.
    pub fn scan(&self, bytes: &[u8]) -> Vec<String> {
        let result = match self.scanner.scan_mem(bytes) {
            Ok(r) => r,
            Err((_, partial)) => partial,
        };
        result
            .rules
            .iter()
            .filter(|r| r.matched)
            .map(|r| format!("{}:{}", r.namespace, r.name))
            .collect()
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(300)
        .collect()
}

fn collect_rule_files(
    dir: &Path,
    out: &mut Vec<(String, String, String)>,
    notes: &mut Vec<String>,
) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            notes.push(format!("rules {}: {e}", dir.display()));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yar" | "yara")))
        .collect();
    paths.sort();
    if paths.len() > MAX_RULE_FILES {
        notes.push(format!(
            "rules {}: only the first {MAX_RULE_FILES} files are loaded",
            dir.display()
        ));
        paths.truncate(MAX_RULE_FILES);
    }
    for path in paths {
        match minetrace_core::io::read_bounded(&path, MAX_RULE_FILE) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => {
                    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("rules");
                    let ns: String = format!("user_{stem}")
                        .chars()
                        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                        .collect();
                    out.push((ns, text, path.display().to_string()));
                }
                Err(_) => notes.push(format!("rules {}: skipped: not UTF-8 text", path.display())),
            },
            Err(e) => notes.push(format!("rules: skipped: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn builtin_rules_compile_and_match_generated_bytes() {
        let (rules, notes) = Rules::load(true, &[]);
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(rules.files, 1);
        // "XMRig/%s libuv/%s" and "donate.v2.xmrig.com", hex so the test binary does not carry them.
        let mut sample = b"\x7fELF harmless test bytes ".to_vec();
        sample.extend(unhex("584d5269672f2573206c696275762f2573"));
        sample.extend(b" padding ");
        sample.extend(unhex("646f6e6174652e76322e786d7269672e636f6d"));
        assert_eq!(
            rules.scan(&sample),
            vec!["builtin_miners:minetrace_xmrig_family"]
        );
        assert!(rules
            .scan(b"\x7fELF ordinary program, pool.o zpool.cache")
            .is_empty());
    }

    #[test]
    fn malformed_rule_files_are_skipped_with_a_note() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("bad.yar"),
            "rule broken { strings: $a = \"x\" condition: $b }",
        )
        .unwrap();
        std::fs::write(dir.path().join("garbage.yar"), [0xff, 0xfe, 0x00]).unwrap();
        std::fs::write(
            dir.path().join("good.yar"),
            "rule custom_marker { strings: $a = \"MINETRACE-TEST-MARKER\" condition: $a }",
        )
        .unwrap();
        let (rules, notes) = Rules::load(false, &[dir.path().to_path_buf()]);
        assert_eq!(rules.files, 1);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert_eq!(
            rules.scan(b"xx MINETRACE-TEST-MARKER yy"),
            vec!["user_good:custom_marker"]
        );
    }
}
