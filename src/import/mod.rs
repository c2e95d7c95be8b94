//! `profile-api import DIR`: loads `mongoexport` JSON-lines files (SPEC §7).
//!
//! Each file is streamed: a blocking reader thread parses and validates lines into batches and
//! hands them over a bounded channel to the writer, so memory stays flat whatever the file's
//! size, and parsing overlaps with the database's work. Every batch is written by the one bulk
//! writer (`db::bulk`: COPY into staging, set-based upserts) in its own transaction, together
//! with the file's checkpoint, so an interrupted import continues with `--resume` exactly after
//! the last batch that landed. The order is users, media, users again (profile photos, once the
//! media exist), follows, blocks. Follows are staged batch by batch and go into `follows` in one
//! set-based transaction at the end of their file (`BulkWriter::merge_follows`), which also
//! refuses, in a batch's own words, those whose users are missing or have blocked one another.

mod documents;
mod ejson;
mod report;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use chrono::{NaiveDate, Utc};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::db::Db;
use crate::db::bulk::{
    BlockRecord, BulkWriter, Checkpoint, FollowRecord, MediaRecord, Refusal, Stage, Written,
};
use crate::error::AppError;
use documents::UserDocument;
pub use report::{FileTally, Problem, Report};

/// Longest line read; a longer one is skipped without being held in memory.
const MAX_LINE_BYTES: usize = 1 << 20;

/// Batches parsed ahead of the writer: enough to keep it busy, few enough to keep memory flat.
const BATCHES_AHEAD: usize = 2;

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

    /// The pass's name in `import_checkpoints`.
    fn key(self) -> &'static str {
        match self {
            Pass::Users => "users",
            Pass::Media => "media",
            Pass::ProfilePhotos => "photos",
            Pass::Follows => "follows",
            Pass::Blocks => "blocks",
        }
    }

    /// Converts a parsed document for this pass.
    fn convert(self, doc: &Map<String, Value>, today: NaiveDate) -> Result<Doc, String> {
        Ok(match self {
            Pass::Users => Doc::User(Box::new(documents::user(doc, today)?)),
            Pass::ProfilePhotos => {
                let user = documents::user(doc, today)?;
                Doc::Photo(user.record.id, user.photo)
            }
            Pass::Media => Doc::Media(documents::media(doc)?),
            Pass::Follows => Doc::Follow(documents::follow(doc)?),
            Pass::Blocks => Doc::Block(documents::block(doc)?),
        })
    }
}

/// A document converted for its pass.
#[derive(Debug)]
enum Doc {
    User(Box<UserDocument>),
    Photo(String, Option<String>),
    Media(MediaRecord),
    Follow(FollowRecord),
    Block(BlockRecord),
}

/// A line read: its number and the document, or why it is skipped.
type Line = (u64, Result<Doc, String>);

/// Lines read, and where the file stands after them.
struct Batch {
    lines: Vec<Line>,
    /// The byte after the batch's last line.
    end_offset: u64,
    /// The number of the batch's last line.
    last_line: u64,
}

/// How to run an import.
#[derive(Debug, Clone)]
pub struct Options {
    /// Documents written per transaction.
    pub batch_size: usize,
    /// Continue the last import where it stopped (its checkpoints), instead of starting anew.
    pub resume: bool,
    /// Once set (Ctrl-C), the import stops after the batch being written.
    pub stop: Arc<AtomicBool>,
}

impl Options {
    /// A new import, batches of `batch_size`.
    pub fn new(batch_size: usize) -> Self {
        Self {
            batch_size,
            resume: false,
            stop: Arc::default(),
        }
    }
}

/// Imports the files in `dir`, from the beginning.
pub async fn run(db: &Db, dir: &Path, batch_size: usize) -> anyhow::Result<Report> {
    run_with(db, dir, &Options::new(batch_size)).await
}

/// Imports the files in `dir` as `options` say.
pub async fn run_with(db: &Db, dir: &Path, options: &Options) -> anyhow::Result<Report> {
    anyhow::ensure!(dir.is_dir(), "{} is not a directory", dir.display());
    anyhow::ensure!(
        Pass::ORDER
            .iter()
            .any(|pass| dir.join(pass.file()).is_file()),
        "{} holds none of users.jsonl, media.jsonl, follows.jsonl, blocks.jsonl",
        dir.display()
    );
    let started = Instant::now();
    let mut report = Report::default();
    let today = Utc::now().date_naive();
    let to_anyhow = |e: AppError| anyhow::anyhow!("{e}");
    let mut writer = BulkWriter::connect(db).await.map_err(to_anyhow)?;
    let checkpoints = if options.resume {
        let found = writer.checkpoints().await.map_err(to_anyhow)?;
        if found.is_empty() {
            tracing::info!("no interrupted import recorded: importing from the beginning");
        }
        found
    } else {
        writer.clear_checkpoints().await.map_err(to_anyhow)?;
        Vec::new()
    };
    for pass in Pass::ORDER {
        let path = dir.join(pass.file());
        if !path.is_file() {
            continue;
        }
        let source = path.display().to_string();
        let file_size = std::fs::metadata(&path).map(|m| m.len())?;
        let mut start = Checkpoint {
            pass: pass.key().to_owned(),
            source: source.clone(),
            file_size,
            byte_offset: 0,
            line: 0,
            done: false,
            tally: report.file(pass.file()),
        };
        if let Some(saved) = checkpoints.iter().find(|c| c.pass == pass.key()) {
            anyhow::ensure!(
                saved.source == source && saved.file_size == file_size,
                "cannot resume: the interrupted import read {} ({} bytes), not {} ({} bytes); \
                 import without --resume to start anew",
                saved.source,
                saved.file_size,
                source,
                file_size
            );
            // PostgreSQL empties the (unlogged) staging table of follows when it recovers from
            // a crash: then the file is read again from its start, its counts from zero.
            let staging_lost = pass == Pass::Follows
                && !saved.done
                && saved.line > 0
                && !writer.has_staged_follows().await.map_err(to_anyhow)?;
            if staging_lost {
                tracing::warn!(
                    "the follows staged before the interruption are gone (PostgreSQL restarted \
                     after a crash): reading {source} again from its start"
                );
            } else {
                report.resume(pass.file(), saved.tally);
                if saved.done {
                    continue;
                }
                start = saved.clone();
            }
        }
        let stopped = import_file(&mut writer, pass, &path, start, today, options, &mut report)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "import of {source} stopped: {e}\nEvery batch before the failure is kept: \
                     `profile-api import {} --resume` continues after it.",
                    dir.display()
                )
            })?;
        if stopped {
            report.interrupted = true;
            break;
        }
    }
    report.sort(&Pass::ORDER.map(Pass::file));
    report.elapsed = started.elapsed();
    Ok(report)
}

/// One pass over one file from `start`; returns whether it stopped early on request.
async fn import_file(
    writer: &mut BulkWriter,
    pass: Pass,
    path: &Path,
    start: Checkpoint,
    today: NaiveDate,
    options: &Options,
    report: &mut Report,
) -> Result<bool, AppError> {
    let file = pass.file();
    let begun = Instant::now();
    let (sender, mut batches) = mpsc::channel::<Batch>(BATCHES_AHEAD);
    let reader = Reader {
        path: path.to_owned(),
        pass,
        today,
        batch_size: options.batch_size.max(1),
        offset: start.byte_offset,
        line: start.line,
        file_size: start.file_size,
    }
    .spawn(sender)
    .map_err(AppError::internal)?;
    let mut at = start;
    let mut stopped = false;
    while let Some(batch) = batches.recv().await {
        at.byte_offset = batch.end_offset;
        at.line = batch.last_line;
        write(writer, pass, batch.lines, &mut at, report).await?;
        if options.stop.load(Ordering::Relaxed) {
            stopped = true;
            break;
        }
    }
    drop(batches);
    let read = reader
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)?;
    if stopped {
        return Ok(true);
    }
    at.done = true;
    at.tally = report.file(file);
    if pass == Pass::Follows {
        merge_follows(writer, &at, report).await?;
    } else {
        writer.save_checkpoint(&at).await?;
    }
    let seconds = begun.elapsed().as_secs_f64();
    tracing::info!(
        file,
        pass = pass.key(),
        documents = read.documents,
        bytes = read.bytes,
        seconds,
        documents_per_second = (read.documents as f64 / seconds.max(1e-9)).round(),
        "file imported"
    );
    Ok(false)
}

/// What a reader went through.
#[derive(Debug, Default)]
struct ReadSummary {
    documents: u64,
    bytes: u64,
}

/// Reads a file on a blocking thread from a byte offset, sending batches of converted lines.
struct Reader {
    path: PathBuf,
    pass: Pass,
    today: NaiveDate,
    batch_size: usize,
    /// Where to start (the start of line `line + 1`).
    offset: u64,
    line: u64,
    file_size: u64,
}

impl Reader {
    fn spawn(
        self,
        sender: mpsc::Sender<Batch>,
    ) -> anyhow::Result<tokio::task::JoinHandle<anyhow::Result<ReadSummary>>> {
        let mut file = File::open(&self.path)
            .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", self.path.display()))?;
        file.seek(SeekFrom::Start(self.offset))?;
        Ok(tokio::task::spawn_blocking(move || {
            self.read(file, &sender)
        }))
    }

    fn read(self, file: File, sender: &mpsc::Sender<Batch>) -> anyhow::Result<ReadSummary> {
        let documents = Arc::new(AtomicU64::new(0));
        // The photo pass reads users.jsonl again: its progress was shown once.
        let progress = progress_bar(
            self.file_size,
            self.offset,
            self.pass.file(),
            &documents,
            self.pass != Pass::ProfilePhotos,
        );
        let mut reader = BufReader::with_capacity(256 * 1024, file);
        let mut buffer = Vec::with_capacity(4096);
        let mut batch = Vec::with_capacity(self.batch_size);
        let mut number = self.line;
        let mut offset = self.offset;
        loop {
            buffer.clear();
            let mut read = (&mut reader)
                .take(MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut buffer)? as u64;
            if read == 0 {
                break;
            }
            number += 1;
            let line = if buffer.len() > MAX_LINE_BYTES && buffer.last() != Some(&b'\n') {
                read += skip_rest_of_line(&mut reader)?;
                Err(format!("line is longer than {} bytes", MAX_LINE_BYTES))
            } else {
                parse_line(&buffer)
            };
            offset += read;
            progress.inc(read);
            let converted = match line {
                Ok(None) => None,
                Ok(Some(doc)) => Some(self.pass.convert(&doc, self.today)),
                Err(reason) => Some(Err(reason)),
            };
            if let Some(converted) = converted {
                documents.fetch_add(1, Ordering::Relaxed);
                batch.push((number, converted));
            }
            if batch.len() >= self.batch_size {
                let full = Batch {
                    lines: std::mem::replace(&mut batch, Vec::with_capacity(self.batch_size)),
                    end_offset: offset,
                    last_line: number,
                };
                if sender.blocking_send(full).is_err() {
                    // The writer stopped: nothing more is wanted.
                    progress.finish_and_clear();
                    return Ok(ReadSummary::default());
                }
            }
        }
        if !batch.is_empty() || number > self.line {
            let _ = sender.blocking_send(Batch {
                lines: batch,
                end_offset: offset,
                last_line: number,
            });
        }
        progress.finish_and_clear();
        Ok(ReadSummary {
            documents: documents.load(Ordering::Relaxed),
            bytes: offset - self.offset,
        })
    }
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
        // PostgreSQL text cannot hold U+0000: such a document is refused here, by its line,
        // rather than failing the whole batch in the database. (Raw control characters are not
        // JSON, so the escape is the only way one gets in.)
        Ok(Value::Object(map)) if text.contains("\\u0000") && holds_nul(&map) => Err(
            "a string holds the character U+0000 (NUL), which PostgreSQL cannot store".to_owned(),
        ),
        Ok(Value::Object(map)) => Ok(Some(map)),
        Ok(_) => Err("line is not a JSON object".to_owned()),
        Err(e) => Err(format!("line is not valid JSON: {e}")),
    }
}

/// Whether a key or string anywhere in the document holds U+0000.
fn holds_nul(map: &Map<String, Value>) -> bool {
    fn value(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains('\0'),
            Value::Array(items) => items.iter().any(value),
            Value::Object(map) => holds_nul(map),
            _ => false,
        }
    }
    map.iter().any(|(k, v)| k.contains('\0') || value(v))
}

/// On a terminal, a live line per file: bytes read of the file's size, documents per second and
/// the time left (from the bytes still to read). Hidden otherwise (the log gets a line per file).
fn progress_bar(
    size: u64,
    start: u64,
    name: &str,
    documents: &Arc<AtomicU64>,
    show: bool,
) -> ProgressBar {
    if !show || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr());
    let counted = documents.clone();
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:>14} [{bar:30}] {bytes}/{total_bytes}  {documents} documents ({per_second}/s)  ETA {eta}",
    ) {
        let counted_rate = counted.clone();
        bar.set_style(
            style
                .with_key(
                    "documents",
                    move |_: &ProgressState, out: &mut dyn std::fmt::Write| {
                        let _ = write!(out, "{}", counted.load(Ordering::Relaxed));
                    },
                )
                .with_key(
                    "per_second",
                    move |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                        let seconds = state.elapsed().as_secs_f64().max(1e-3);
                        let rate = counted_rate.load(Ordering::Relaxed) as f64 / seconds;
                        let _ = write!(out, "{rate:.0}");
                    },
                )
                .progress_chars("=> "),
        );
    }
    bar.set_position(start);
    bar.reset_eta();
    bar.set_message(name.to_owned());
    bar
}

/// Validates and writes one batch of `pass` with the checkpoint `at` (its tally brought up to
/// date here), recording every outcome in `report`.
async fn write(
    writer: &mut BulkWriter,
    pass: Pass,
    lines: Vec<Line>,
    at: &mut Checkpoint,
    report: &mut Report,
) -> Result<(), AppError> {
    let file = pass.file();
    let mut documents = Vec::with_capacity(lines.len());
    for (line, converted) in lines {
        match converted {
            Ok(doc) => documents.push((line, doc)),
            // The photo pass reads users.jsonl again: its bad lines were reported already.
            Err(_) if pass == Pass::ProfilePhotos => {}
            Err(reason) => report.skip(file, line, reason),
        }
    }
    match pass {
        Pass::Users => {
            let (users, numbers) = unpack(documents, |doc| match doc {
                Doc::User(user) => Some(*user),
                _ => None,
            });
            let mut rows = Vec::with_capacity(users.len());
            for (user, line) in users.into_iter().zip(&numbers) {
                for warning in user.warnings {
                    report.warn(file, *line, warning);
                }
                rows.push(user.record);
            }
            let (rows, numbers) = dedupe(rows, numbers, |r| r.id.clone(), file, report);
            commit(writer, &rows, &numbers, file, at, report).await
        }
        Pass::ProfilePhotos => {
            let (photos, numbers) = unpack(documents, |doc| match doc {
                Doc::Photo(id, photo) => Some((id, photo)),
                _ => None,
            });
            at.tally = report.file(file);
            let failed = writer.set_profile_photos(&photos, Some(at.clone())).await?;
            if !failed.is_empty() {
                let lines_of: HashMap<&str, u64> = photos
                    .iter()
                    .map(|(id, _)| id.as_str())
                    .zip(numbers)
                    .collect();
                for id in failed {
                    let line = lines_of.get(id.as_str()).copied().unwrap_or_default();
                    report.warn(
                        file,
                        line,
                        "profilePhoto is not a media item of this user; imported without a photo"
                            .to_owned(),
                    );
                }
            }
            Ok(())
        }
        Pass::Media => {
            let (rows, numbers) = unpack(documents, |doc| match doc {
                Doc::Media(record) => Some(record),
                _ => None,
            });
            let owners: Vec<&str> = rows.iter().map(|r| r.owner_id.as_str()).collect();
            let existing = writer.existing_users(&owners).await?;
            let (rows, numbers) = keep(rows, numbers, file, report, |r| {
                (!existing.contains(&r.owner_id))
                    .then(|| format!("owner {} is not a user", r.owner_id))
            });
            let (rows, numbers) = dedupe(rows, numbers, |r| r.id.clone(), file, report);
            commit(writer, &rows, &numbers, file, at, report).await
        }
        Pass::Follows => {
            let (rows, numbers) = unpack(documents, |doc| match doc {
                Doc::Follow(record) => Some(record),
                _ => None,
            });
            // Whether both users exist and have not blocked one another is checked when the
            // staged follows are merged, set-based, with the same reasons.
            let superseded_by: Vec<Option<u64>> =
                winners(&rows, |f| (&f.follower_id, &f.followee_id))
                    .into_iter()
                    .enumerate()
                    .map(|(index, winner)| (winner != index).then(|| numbers[winner]))
                    .collect();
            at.tally = report.file(file);
            writer
                .stage_follows(&rows, &numbers, &superseded_by, at)
                .await
        }
        Pass::Blocks => {
            let (rows, numbers) = unpack(documents, |doc| match doc {
                Doc::Block(record) => Some(record),
                _ => None,
            });
            let pair = |b: &BlockRecord| (b.blocker_id.clone(), b.blocked_id.clone());
            let (rows, numbers) = admit_pairs(writer, rows, numbers, pair, file, report).await?;
            commit(writer, &rows, &numbers, file, at, report).await
        }
    }
}

/// The documents `pick` takes, with their line numbers.
fn unpack<T>(documents: Vec<(u64, Doc)>, pick: impl Fn(Doc) -> Option<T>) -> (Vec<T>, Vec<u64>) {
    let mut rows = Vec::with_capacity(documents.len());
    let mut numbers = Vec::with_capacity(documents.len());
    for (line, doc) in documents {
        if let Some(row) = pick(doc) {
            rows.push(row);
            numbers.push(line);
        }
    }
    (rows, numbers)
}

/// Writes the batch's rows with the checkpoint `at` and records what happened.
async fn commit<T: Stage>(
    writer: &mut BulkWriter,
    rows: &[T],
    numbers: &[u64],
    file: &'static str,
    at: &mut Checkpoint,
    report: &mut Report,
) -> Result<(), AppError> {
    at.tally = report.file(file);
    let written = writer.write(rows, Some(at.clone())).await?;
    report.record(file, numbers, written);
    Ok(())
}

/// Of a batch of blocks, the rows to write, with their line numbers: both users must exist; the
/// last of the same pair in a batch wins. The others are reported as skipped. (Follows are
/// checked the same way, set-based, when they are merged: `BulkWriter::merge_follows`.)
async fn admit_pairs<T>(
    writer: &BulkWriter,
    rows: Vec<T>,
    numbers: Vec<u64>,
    pair: impl Fn(&T) -> (String, String),
    file: &'static str,
    report: &mut Report,
) -> Result<(Vec<T>, Vec<u64>), AppError> {
    let pairs: Vec<(String, String)> = rows.iter().map(&pair).collect();
    let borrowed: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let ids: Vec<&str> = borrowed.iter().flat_map(|(a, b)| [*a, *b]).collect();
    let existing = writer.existing_users(&ids).await?;
    let (rows, numbers) = keep(rows, numbers, file, report, |row| {
        let (a, b) = pair(row);
        if !existing.contains(&a) {
            Some(not_a_user(&a))
        } else if !existing.contains(&b) {
            Some(not_a_user(&b))
        } else {
            None
        }
    });
    Ok(dedupe(rows, numbers, &pair, file, report))
}

/// The end of follows.jsonl: its staged follows go into the table at once (`at` is the file's
/// end, done), and what that did goes into the report.
async fn merge_follows(
    writer: &mut BulkWriter,
    at: &Checkpoint,
    report: &mut Report,
) -> Result<(), AppError> {
    let file = Pass::Follows.file();
    let begun = Instant::now();
    let spinner = if std::io::stderr().is_terminal() {
        let spinner = ProgressBar::new_spinner();
        spinner.set_message(format!("{file}: writing the follows into the table"));
        spinner.enable_steady_tick(std::time::Duration::from_millis(200));
        spinner
    } else {
        ProgressBar::hidden()
    };
    let merged = writer.merge_follows(at, report.room()).await;
    spinner.finish_and_clear();
    let merged = merged?;
    tracing::info!(
        file,
        inserted = merged.inserted,
        updated = merged.updated,
        skipped = merged.skipped,
        seconds = begun.elapsed().as_secs_f64(),
        "staged follows merged"
    );
    let listed = merged.listed.len() as u64;
    for (line, refusal) in merged.listed {
        let reason = match refusal {
            Refusal::NotAUser(id) => not_a_user(&id),
            Refusal::Blocked => BLOCKED.to_owned(),
            Refusal::SupersededBy(winner) => superseded(winner),
        };
        report.skip(file, line, reason);
    }
    report.record(
        file,
        &[],
        Written {
            inserted: merged.inserted,
            updated: merged.updated,
            skipped: Vec::new(),
        },
    );
    report.count_unlisted_skips(file, merged.skipped - listed);
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

/// For each row, the index of the last row with the same key (itself when it is the last):
/// within a batch the last wins, since one statement cannot write a row twice.
fn winners<'a, T, K: std::hash::Hash + Eq>(rows: &'a [T], key: impl Fn(&'a T) -> K) -> Vec<usize> {
    let mut last: HashMap<K, usize> = HashMap::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        last.insert(key(row), index);
    }
    rows.iter()
        .enumerate()
        .map(|(index, row)| last.get(&key(row)).copied().unwrap_or(index))
        .collect()
}

/// Keeps the last of rows with the same key within a batch (see [`winners`]); the earlier ones
/// are reported as superseded.
fn dedupe<T, K: std::hash::Hash + Eq>(
    rows: Vec<T>,
    numbers: Vec<u64>,
    key: impl Fn(&T) -> K,
    file: &'static str,
    report: &mut Report,
) -> (Vec<T>, Vec<u64>) {
    let winners = winners(&rows, key);
    if winners
        .iter()
        .enumerate()
        .all(|(index, winner)| index == *winner)
    {
        return (rows, numbers);
    }
    let mut kept = (
        Vec::with_capacity(rows.len()),
        Vec::with_capacity(rows.len()),
    );
    for ((index, row), winner) in rows.into_iter().enumerate().zip(winners) {
        let line = numbers[index];
        if winner == index {
            kept.0.push(row);
            kept.1.push(line);
        } else {
            report.skip(file, line, superseded(numbers[winner]));
        }
    }
    kept
}

/// Why a document superseded within its batch is skipped.
fn superseded(winner_line: u64) -> String {
    format!("superseded by the same record on line {winner_line}")
}

/// Why a follow or block of a user who does not exist is skipped.
fn not_a_user(id: &str) -> String {
    format!("{id} is not a user")
}

/// Why a follow between users who have blocked one another is skipped.
const BLOCKED: &str = "one of the two users has blocked the other";

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
