//! `profile-api import DIR`: loads `mongoexport` JSON-lines files (SPEC §7).
//!
//! Each file is streamed: a blocking reader thread parses lines into batches and hands them over
//! a bounded channel to the writer, so memory stays flat whatever the file's size and parsing
//! overlaps with writing. Every batch is written in its own transaction (see `db::bulk`). The
//! order is users, media, users again (profile photos, once the media exist), follows, blocks.

mod documents;
mod ejson;
mod report;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{NaiveDate, Utc};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::db::bulk;
use crate::db::{Conn, Db};
use crate::error::AppError;
pub use report::{FileTally, Problem, Report};

/// Longest line read; a longer one is skipped without being held in memory.
const MAX_LINE_BYTES: usize = 1 << 20;

/// The files, in import order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    Users,
    Media,
    ProfilePhotos,
    Follows,
    Blocks,
}

impl Pass {
    const ORDER: [Pass; 5] = [
        Pass::Users,
        Pass::Media,
        Pass::ProfilePhotos,
        Pass::Follows,
        Pass::Blocks,
    ];

    fn file(self) -> &'static str {
        match self {
            Pass::Users | Pass::ProfilePhotos => "users.jsonl",
            Pass::Media => "media.jsonl",
            Pass::Follows => "follows.jsonl",
            Pass::Blocks => "blocks.jsonl",
        }
    }
}

/// A parsed line: its number and the document, or why it was skipped.
type Line = (u64, Result<Map<String, Value>, String>);

/// Imports the files in `dir`.
pub async fn run(db: &Db, dir: &Path, batch_size: usize) -> anyhow::Result<Report> {
    anyhow::ensure!(dir.is_dir(), "{} is not a directory", dir.display());
    let started = Instant::now();
    let mut report = Report::default();
    let today = Utc::now().date_naive();
    let mut conn = db.conn().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut found_any = false;
    for pass in Pass::ORDER {
        let path = dir.join(pass.file());
        if !path.is_file() {
            continue;
        }
        found_any = true;
        let (sender, mut batches) = mpsc::channel::<Vec<Line>>(4);
        let reader = spawn_reader(
            path.clone(),
            batch_size.max(1),
            sender,
            pass != Pass::ProfilePhotos,
        )?;
        while let Some(batch) = batches.recv().await {
            write(&mut conn, pass, batch, today, &mut report)
                .await
                .map_err(|e| anyhow::anyhow!("import of {} stopped: {e}", path.display()))?;
        }
        reader.await??;
    }
    anyhow::ensure!(
        found_any,
        "{} holds none of users.jsonl, media.jsonl, follows.jsonl, blocks.jsonl",
        dir.display()
    );
    report.sort(&Pass::ORDER.map(Pass::file));
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Reads `path` on a blocking thread, sending batches of parsed lines.
fn spawn_reader(
    path: PathBuf,
    batch_size: usize,
    sender: mpsc::Sender<Vec<Line>>,
    show_progress: bool,
) -> anyhow::Result<tokio::task::JoinHandle<anyhow::Result<()>>> {
    let file =
        File::open(&path).map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or_default();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(tokio::task::spawn_blocking(move || {
        let progress = progress_bar(size, &name, show_progress);
        let mut reader = BufReader::with_capacity(256 * 1024, file);
        let mut buffer = Vec::with_capacity(4096);
        let mut batch = Vec::with_capacity(batch_size);
        let mut number = 0_u64;
        loop {
            buffer.clear();
            let read = (&mut reader)
                .take(MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut buffer)?;
            if read == 0 {
                break;
            }
            number += 1;
            progress.inc(read as u64);
            let line = if buffer.len() > MAX_LINE_BYTES && buffer.last() != Some(&b'\n') {
                let rest = skip_rest_of_line(&mut reader)?;
                progress.inc(rest);
                Err(format!("line is longer than {} bytes", MAX_LINE_BYTES))
            } else {
                parse_line(&buffer)
            };
            match line {
                Ok(None) => continue,
                Ok(Some(doc)) => batch.push((number, Ok(doc))),
                Err(reason) => batch.push((number, Err(reason))),
            }
            if batch.len() >= batch_size {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
                if sender.blocking_send(full).is_err() {
                    return Ok(());
                }
            }
        }
        if !batch.is_empty() {
            let _ = sender.blocking_send(batch);
        }
        progress.finish_and_clear();
        Ok(())
    }))
}

fn skip_rest_of_line(reader: &mut impl BufRead) -> std::io::Result<u64> {
    let mut skipped = 0;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(skipped);
        }
        match chunk.iter().position(|b| *b == b'\n') {
            Some(end) => {
                reader.consume(end + 1);
                return Ok(skipped + end as u64 + 1);
            }
            None => {
                let len = chunk.len();
                reader.consume(len);
                skipped += len as u64;
            }
        }
    }
}

/// A JSON object, `None` for a blank line, or why the line is not a document.
fn parse_line(bytes: &[u8]) -> Result<Option<Map<String, Value>>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "line is not UTF-8".to_owned())?;
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        Ok(_) => Err("line is not a JSON object".to_owned()),
        Err(e) => Err(format!("line is not valid JSON: {e}")),
    }
}

fn progress_bar(size: u64, name: &str, show: bool) -> ProgressBar {
    if !show || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:>14} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(name.to_owned());
    bar
}

/// Converts and writes one batch of `pass`, recording every outcome in `report`.
async fn write(
    conn: &mut Conn,
    pass: Pass,
    lines: Vec<Line>,
    today: NaiveDate,
    report: &mut Report,
) -> Result<(), AppError> {
    let file = pass.file();
    let mut documents = Vec::with_capacity(lines.len());
    for (line, parsed) in lines {
        match parsed {
            Ok(doc) => documents.push((line, doc)),
            // The photo pass reads users.jsonl again: its bad lines were reported already.
            Err(_) if pass == Pass::ProfilePhotos => {}
            Err(reason) => report.skip(file, line, reason),
        }
    }
    match pass {
        Pass::Users => {
            let mut rows = Vec::new();
            let mut numbers = Vec::new();
            for (line, doc) in &documents {
                match documents::user(doc, today) {
                    Ok(user) => {
                        for warning in user.warnings {
                            report.warn(file, *line, warning);
                        }
                        rows.push(user.record);
                        numbers.push(*line);
                    }
                    Err(reason) => report.skip(file, *line, reason),
                }
            }
            let (rows, numbers) = dedupe(rows, numbers, |r| r.id.clone(), file, report);
            let outcomes = bulk::write_batch(conn, &rows).await?;
            report.record(file, &numbers, outcomes);
        }
        Pass::ProfilePhotos => {
            let mut photos = Vec::new();
            let mut lines_of = HashMap::new();
            for (line, doc) in &documents {
                if let Ok(user) = documents::user(doc, today) {
                    lines_of.insert(user.record.id.clone(), *line);
                    photos.push((user.record.id, user.photo));
                }
            }
            for id in bulk::set_profile_photos(conn, &photos).await? {
                let line = lines_of.get(&id).copied().unwrap_or_default();
                report.warn(
                    file,
                    line,
                    "profilePhoto is not a media item of this user; imported without a photo"
                        .to_owned(),
                );
            }
        }
        Pass::Media => {
            let mut rows = Vec::new();
            let mut numbers = Vec::new();
            for (line, doc) in &documents {
                match documents::media(doc) {
                    Ok(record) => {
                        rows.push(record);
                        numbers.push(*line);
                    }
                    Err(reason) => report.skip(file, *line, reason),
                }
            }
            let owners: Vec<String> = rows.iter().map(|r| r.owner_id.clone()).collect();
            let existing = bulk::existing_users(conn, &owners).await?;
            let (rows, numbers) = keep(rows, numbers, file, report, |r| {
                (!existing.contains(&r.owner_id))
                    .then(|| format!("owner {} is not a user", r.owner_id))
            });
            let (rows, numbers) = dedupe(rows, numbers, |r| r.id.clone(), file, report);
            let outcomes = bulk::write_batch(conn, &rows).await?;
            report.record(file, &numbers, outcomes);
        }
        Pass::Follows | Pass::Blocks => {
            let mut follows = Vec::new();
            let mut blocks = Vec::new();
            let mut numbers = Vec::new();
            for (line, doc) in &documents {
                let converted = if pass == Pass::Follows {
                    documents::follow(doc).map(|f| follows.push(f))
                } else {
                    documents::block(doc).map(|b| blocks.push(b))
                };
                match converted {
                    Ok(()) => numbers.push(*line),
                    Err(reason) => report.skip(file, *line, reason),
                }
            }
            let pairs: Vec<(String, String)> = if pass == Pass::Follows {
                follows
                    .iter()
                    .map(|f| (f.follower_id.clone(), f.followee_id.clone()))
                    .collect()
            } else {
                blocks
                    .iter()
                    .map(|b| (b.blocker_id.clone(), b.blocked_id.clone()))
                    .collect()
            };
            let ids: Vec<String> = pairs
                .iter()
                .flat_map(|(a, b)| [a.clone(), b.clone()])
                .collect();
            let existing = bulk::existing_users(conn, &ids).await?;
            let blocked = if pass == Pass::Follows {
                bulk::blocked_pairs(conn, &pairs).await?
            } else {
                Default::default()
            };
            let refusal = |(a, b): &(String, String)| {
                if !existing.contains(a) {
                    Some(format!("{a} is not a user"))
                } else if !existing.contains(b) {
                    Some(format!("{b} is not a user"))
                } else if blocked.contains(&(a.clone(), b.clone())) {
                    Some("one of the two users has blocked the other".to_owned())
                } else {
                    None
                }
            };
            if pass == Pass::Follows {
                let (rows, numbers) = keep(follows, numbers, file, report, |f| {
                    refusal(&(f.follower_id.clone(), f.followee_id.clone()))
                });
                let (rows, numbers) = dedupe(
                    rows,
                    numbers,
                    |f| (f.follower_id.clone(), f.followee_id.clone()),
                    file,
                    report,
                );
                let outcomes = bulk::write_batch(conn, &rows).await?;
                report.record(file, &numbers, outcomes);
            } else {
                let (rows, numbers) = keep(blocks, numbers, file, report, |b| {
                    refusal(&(b.blocker_id.clone(), b.blocked_id.clone()))
                });
                let (rows, numbers) = dedupe(
                    rows,
                    numbers,
                    |b| (b.blocker_id.clone(), b.blocked_id.clone()),
                    file,
                    report,
                );
                let outcomes = bulk::write_batch(conn, &rows).await?;
                report.record(file, &numbers, outcomes);
            }
        }
    }
    Ok(())
}

/// Drops the rows `refuse` objects to, reporting each as skipped.
fn keep<T>(
    rows: Vec<T>,
    numbers: Vec<u64>,
    file: &'static str,
    report: &mut Report,
    refuse: impl Fn(&T) -> Option<String>,
) -> (Vec<T>, Vec<u64>) {
    let mut kept = (
        Vec::with_capacity(rows.len()),
        Vec::with_capacity(rows.len()),
    );
    for (row, line) in rows.into_iter().zip(numbers) {
        match refuse(&row) {
            Some(reason) => report.skip(file, line, reason),
            None => {
                kept.0.push(row);
                kept.1.push(line);
            }
        }
    }
    kept
}

/// Keeps the last of rows with the same key within a batch (one statement cannot write a row
/// twice); the earlier ones are reported as superseded.
fn dedupe<T, K: std::hash::Hash + Eq>(
    rows: Vec<T>,
    numbers: Vec<u64>,
    key: impl Fn(&T) -> K,
    file: &'static str,
    report: &mut Report,
) -> (Vec<T>, Vec<u64>) {
    let mut last: HashMap<K, usize> = HashMap::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        last.insert(key(row), index);
    }
    if last.len() == rows.len() {
        return (rows, numbers);
    }
    let mut kept = (
        Vec::with_capacity(last.len()),
        Vec::with_capacity(last.len()),
    );
    for (index, (row, line)) in rows.into_iter().zip(numbers.iter().copied()).enumerate() {
        let winner = last.get(&key(&row)).copied().unwrap_or(index);
        if winner == index {
            kept.0.push(row);
            kept.1.push(line);
        } else {
            report.skip(
                file,
                line,
                format!("superseded by the same record on line {}", numbers[winner]),
            );
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        assert!(matches!(parse_line(b"  \n"), Ok(None)));
        assert!(matches!(parse_line(b"{\"a\":1}\n"), Ok(Some(_))));
        assert_eq!(parse_line(b"[1]").unwrap_err(), "line is not a JSON object");
        assert!(
            parse_line(b"{oops")
                .unwrap_err()
                .starts_with("line is not valid JSON")
        );
        assert_eq!(parse_line(&[0xff, 0xfe]).unwrap_err(), "line is not UTF-8");
    }

    #[test]
    fn dedupe_keeps_the_last() {
        let mut report = Report::default();
        let (rows, numbers) = dedupe(vec!["a", "b", "a"], vec![1, 2, 3], |r| *r, "f", &mut report);
        assert_eq!(rows, ["b", "a"]);
        assert_eq!(numbers, [2, 3]);
        assert_eq!(report.skipped(), 1);
    }
}
