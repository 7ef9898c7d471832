//! Running a server under `valgrind --tool=callgrind` and reading the instruction total
//! it writes when the process exits.

use std::path::{Path, PathBuf};

/// The valgrind executable, found on PATH by `Command`.
pub const VALGRIND: &str = "valgrind";
/// Prefix of every profile file; the rest of the name is the server and its pid.
const PREFIX: &str = "callgrind.out.";

/// `valgrind-3.19.0`, or `None` when valgrind cannot be run.
pub fn version() -> Option<String> {
    let out = std::process::Command::new(VALGRIND)
        .arg("--version")
        .output()
        .ok()?;
    let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !v.is_empty()).then_some(v)
}

/// The command line that runs `program args…` under callgrind, its profile written into
/// `dir` when it exits.
pub fn command(dir: &Path, name: &str, program: &Path, args: &[String]) -> Vec<String> {
    let mut line = vec![
        "--tool=callgrind".to_string(),
        format!("--callgrind-out-file={}", out_file(dir, name).display()),
        program.display().to_string(),
    ];
    line.extend(args.iter().cloned());
    line
}

fn out_file(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{PREFIX}{name}.%p"))
}

/// Instructions executed, summed over every profile in `dir`. Callgrind writes one file per
/// process with every thread in it; a process that forked would add files, all counted.
pub fn total(dir: &Path) -> Result<u64, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut sum = 0u64;
    let mut files = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(PREFIX) {
            continue;
        }
        let path = entry.path();
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        sum +=
            file_total(&text).ok_or_else(|| format!("{}: no instruction total", path.display()))?;
        files += 1;
    }
    match files {
        0 => Err(format!("no callgrind profile in {}", dir.display())),
        _ => Ok(sum),
    }
}

/// The `summary:` line of one profile, else its `totals:` lines summed (one per dump).
fn file_total(text: &str) -> Option<u64> {
    let first_number = |rest: &str| rest.split_whitespace().next()?.parse::<u64>().ok();
    if let Some(s) = text.lines().find_map(|l| l.strip_prefix("summary:")) {
        return first_number(s);
    }
    let totals: Vec<u64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("totals:"))
        .filter_map(first_number)
        .collect();
    (!totals.is_empty()).then(|| totals.iter().sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_summary_or_totals() {
        assert_eq!(file_total("events: Ir\nsummary: 1234\nfn=x\n"), Some(1234));
        assert_eq!(
            file_total("events: Ir\ntotals: 10\n\ntotals: 5\n"),
            Some(15)
        );
        assert_eq!(file_total("events: Ir\n"), None);
    }
}
