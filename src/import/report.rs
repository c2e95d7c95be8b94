//! The closing report of an import: counts per file and every skip and warning with its file,
//! line and reason.

use std::io::Write;
use std::time::Duration;

use crate::db::bulk::Written;

/// Most problems listed one by one; beyond this only the counts grow, so a file of garbage
/// cannot exhaust memory through its own report.
const MAX_LISTED: usize = 10_000;

/// Counts of one file (the same counts an import's checkpoint keeps).
pub use crate::db::bulk::Tally as FileTally;

/// A skipped document or a dropped value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub file: &'static str,
    /// The line (1-based).
    pub line: u64,
    /// Why.
    pub reason: String,
}

/// The whole report.
#[derive(Debug, Default)]
pub struct Report {
    /// Per file, in import order.
    pub files: Vec<(&'static str, FileTally)>,
    /// Skipped documents (the first [`MAX_LISTED`]).
    pub skips: Vec<Problem>,
    /// Dropped values (the first [`MAX_LISTED`]).
    pub warnings: Vec<Problem>,
    /// How long the import took.
    pub elapsed: Duration,
    /// Stopped on request (Ctrl-C) after a batch, before the end: `import --resume` continues.
    pub interrupted: bool,
}

impl Report {
    fn tally(&mut self, file: &'static str) -> &mut FileTally {
        let index = match self.files.iter().position(|(f, _)| *f == file) {
            Some(index) => index,
            None => {
                self.files.push((file, FileTally::default()));
                self.files.len() - 1
            }
        };
        &mut self.files[index].1
    }

    /// Records a skipped document.
    pub fn skip(&mut self, file: &'static str, line: u64, reason: String) {
        self.tally(file).skipped += 1;
        if self.skips.len() < MAX_LISTED {
            self.skips.push(Problem { file, line, reason });
        }
    }

    /// How many more problems are listed one by one (the rest are only counted).
    pub fn room(&self) -> usize {
        MAX_LISTED.saturating_sub(self.skips.len())
    }

    /// Counts skipped documents that are not listed (past [`Report::room`]).
    pub fn count_unlisted_skips(&mut self, file: &'static str, count: u64) {
        self.tally(file).skipped += count;
    }

    /// Records a dropped value.
    pub fn warn(&mut self, file: &'static str, line: u64, reason: String) {
        self.tally(file).warnings += 1;
        if self.warnings.len() < MAX_LISTED {
            self.warnings.push(Problem { file, line, reason });
        }
    }

    /// Records what a written batch did; `lines` are the documents' line numbers, in the order
    /// they were written.
    pub fn record(&mut self, file: &'static str, lines: &[u64], written: Written) {
        let tally = self.tally(file);
        tally.inserted += written.inserted;
        tally.updated += written.updated;
        for (index, reason) in written.skipped {
            let line = lines.get(index).copied().unwrap_or_default();
            self.skip(file, line, reason);
        }
    }

    /// Starts `file`'s counts from an interrupted import's (`import --resume`).
    pub fn resume(&mut self, file: &'static str, tally: FileTally) {
        *self.tally(file) = tally;
    }

    /// Orders the listed problems by file (in `files` order) and line.
    pub fn sort(&mut self, files: &[&str]) {
        let rank = |p: &Problem| {
            (
                files
                    .iter()
                    .position(|f| *f == p.file)
                    .unwrap_or(usize::MAX),
                p.line,
            )
        };
        self.skips.sort_by_key(rank);
        self.warnings.sort_by_key(rank);
    }

    /// Total skipped documents.
    pub fn skipped(&self) -> u64 {
        self.files.iter().map(|(_, t)| t.skipped).sum()
    }

    /// The counts of `file`.
    pub fn file(&self, file: &str) -> FileTally {
        self.files
            .iter()
            .find(|(f, _)| *f == file)
            .map(|(_, t)| *t)
            .unwrap_or_default()
    }

    /// Writes the report for people.
    pub fn print(&self, out: &mut impl Write) -> std::io::Result<()> {
        let how = if self.interrupted {
            "interrupted (after a committed batch)"
        } else {
            "finished"
        };
        writeln!(out, "Import {how} in {:.1}s.", self.elapsed.as_secs_f64())?;
        writeln!(
            out,
            "{:<16}{:>10}{:>10}{:>10}{:>10}",
            "file", "inserted", "updated", "skipped", "warnings"
        )?;
        for (file, t) in &self.files {
            writeln!(
                out,
                "{file:<16}{:>10}{:>10}{:>10}{:>10}",
                t.inserted, t.updated, t.skipped, t.warnings
            )?;
        }
        for (title, problems, total) in [
            ("Skipped", &self.skips, self.skipped()),
            (
                "Warnings",
                &self.warnings,
                self.files.iter().map(|(_, t)| t.warnings).sum(),
            ),
        ] {
            if problems.is_empty() {
                continue;
            }
            writeln!(out, "\n{title}:")?;
            for p in problems.iter() {
                writeln!(out, "  {}:{}: {}", p.file, p.line, p.reason)?;
            }
            if total > problems.len() as u64 {
                writeln!(out, "  … and {} more", total - problems.len() as u64)?;
            }
        }
        Ok(())
    }
}
