//! Writes of concurrent requests, made in batches: new rows (prepared uploads, multipart's
//! stored files, tus uploads created with their bytes) inserted, and the steps of an upload's
//! life that every upload takes — claimed, stored, completed, its tus lock released — each as
//! one `UPDATE` of many rows (`CASE key WHEN … THEN … END` per column, `RETURNING key` where
//! the caller must learn whether its row changed).
//!
//! Under load, these writes arrive faster than one-row statements can be written one after
//! the other: each costs a trip to the database (for SQLite, to its one writer connection,
//! which waits idle between a statement's answer and the next caller's turn) and a commit.
//! Here every caller queues its job and waits its turn for the batch lock (fair, first come
//! first served). Whoever holds it writes everything queued so far — its own job and the jobs
//! of those waiting behind it — as one statement, and tells each caller how its job fared.
//! Callers whose job went in with an earlier batch find their answer waiting and return
//! without writing. While one batch is written the next one gathers, so the batch size
//! follows the load: one job when idle, dozens under pressure, never more than [`MAX_ROWS`]
//! rows.
//!
//! A request's rows stay all or nothing: a batch is one statement, and should it fail (a key
//! taken, say) every job of it is retried alone, so one bad request never fails another. An
//! `UPDATE` changes a row only from the state its step expects, so of several jobs racing
//! for one row, only the first queued is told it changed it.

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use futures_util::future::BoxFuture;
use serde_json::Value;
use sqlx::Row as _;
use tokio::sync::oneshot;

use super::{bind_caller, bind_new, json_to_db, NewUpload, Records};
use crate::protocol::UploadStatus;

/// Most rows one statement carries (at most 29 parameters each, for a tus insert: far below
/// both databases' limits).
const MAX_ROWS: usize = 64;

/// One caller's job and where its outcome goes.
pub(crate) struct Job<J> {
    /// Tells it apart in the queue, for a caller that goes away before its turn.
    id: u64,
    item: J,
    /// Whether the job changed its row (a completion of a row still `completing`).
    done: oneshot::Sender<Result<bool, sqlx::Error>>,
}

/// The queue of jobs waiting for a batch, and the lock a batch is written under.
pub(crate) struct Batcher<J> {
    queue: Mutex<Vec<Job<J>>>,
    turn: tokio::sync::Mutex<()>,
    ids: AtomicU64,
}

impl<J> Default for Batcher<J> {
    fn default() -> Self {
        Batcher {
            queue: Mutex::new(Vec::new()),
            turn: tokio::sync::Mutex::new(()),
            ids: AtomicU64::new(0),
        }
    }
}

/// Takes a caller's job back out of the queue when the caller goes away before a batch took
/// it (its client hung up while it waited for its turn): a write nobody waits for is not made
/// later, on behalf of a request long gone.
struct Unqueue<'a, J> {
    queue: &'a Mutex<Vec<Job<J>>>,
    id: u64,
}

impl<J> Drop for Unqueue<'_, J> {
    fn drop(&mut self) {
        if let Ok(mut queue) = self.queue.lock() {
            queue.retain(|j| j.id != self.id);
        }
    }
}

impl<J: Send + 'static> Batcher<J> {
    /// The oldest queued jobs, up to [`MAX_ROWS`] rows (at least one job, whatever its size).
    fn next(&self, rows_of: fn(&J) -> usize) -> Vec<Job<J>> {
        let mut queue = self
            .queue
            .lock()
            .expect("the batch queue is never poisoned");
        let mut rows = 0;
        let take = queue
            .iter()
            .position(|j| {
                rows += rows_of(&j.item);
                rows > MAX_ROWS
            })
            .unwrap_or(queue.len())
            .max(1)
            .min(queue.len());
        queue.drain(..take).collect()
    }

    /// Queues `item` and returns once a batch holding it was written: by this caller, when
    /// its turn comes and the job is still queued, with `write` (on a task of its own, so
    /// that this caller going away — its client hung up — does not take the other callers'
    /// jobs with it), or by a caller ahead of it.
    async fn submit<W, F>(
        &self,
        item: J,
        rows_of: fn(&J) -> usize,
        write: W,
    ) -> Result<bool, sqlx::Error>
    where
        W: Fn(Vec<Job<J>>) -> F,
        F: Future<Output = ()> + Send + 'static,
    {
        let (done, mut outcome) = oneshot::channel();
        let id = self.ids.fetch_add(1, Ordering::Relaxed);
        self.queue
            .lock()
            .expect("the batch queue is never poisoned")
            .push(Job { id, item, done });
        let _unqueue = Unqueue {
            queue: &self.queue,
            id,
        };
        let _turn = self.turn.lock().await;
        loop {
            match outcome.try_recv() {
                Ok(result) => return result,
                // The task writing this job went away without an answer (its runtime shut
                // down): it may or may not be written.
                Err(oneshot::error::TryRecvError::Closed) => {
                    return Err(sqlx::Error::WorkerCrashed)
                }
                // Not written yet: write the oldest jobs queued, this one among them or ahead.
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            let jobs = self.next(rows_of);
            if jobs.is_empty() {
                // Taken by a batch still being written, whose caller went away (its task
                // goes on): its answer comes from there.
                return outcome.await.unwrap_or(Err(sqlx::Error::WorkerCrashed));
            }
            let _ = tokio::spawn(write(jobs)).await;
        }
    }
}

/// One request's rows to insert, and the server instance responsible for them.
pub(crate) struct Rows {
    rows: Vec<NewUpload>,
    instance: Option<String>,
    /// For a tus upload (one row): its state, and the lock its creating request holds.
    tus: Option<TusRow>,
}

/// A new tus upload's own columns.
pub(crate) struct TusRow {
    offset: i64,
    length: Option<i64>,
    concat: Option<String>,
    metadata: Option<String>,
    owner: String,
    until_ms: i64,
}

/// A finished upload's completion: its key and the hook's answer (as stored).
pub(crate) struct Completion {
    key: String,
    server_data: Option<String>,
    now_ms: i64,
}

/// A stored upload's record of what was stored (`uploading → completing`).
pub(crate) struct Stored {
    key: String,
    size: i64,
    sha256: String,
    crc32: Option<i64>,
    content_type: String,
    instance: Option<String>,
    now_ms: i64,
}

/// A claim of a prepared upload by the request about to send its bytes.
pub(crate) struct Claim {
    key: String,
    instance: Option<String>,
    now_ms: i64,
}

/// A tus lock released by its owner.
pub(crate) struct Unlock {
    key: String,
    owner: String,
}

/// `UPDATE uplift_uploads SET …` of many rows at once, each column given per row by key
/// (`CASE key WHEN k THEN v … END`). SQLite binds `?` by where it stands in the text, so the
/// caller makes placeholders in the order its SQL shows them, and binds values in that order:
/// for each per-row column, each row's key and value, and each statement-wide value where its
/// placeholder stands; the keys of `finish` come last.
struct KeyedUpdate {
    p: Params,
}

impl KeyedUpdate {
    fn new(backend: super::Backend) -> KeyedUpdate {
        KeyedUpdate {
            p: Params::new(backend),
        }
    }

    /// `CASE key WHEN ? THEN ? … END` for `rows` rows.
    fn by_key(&mut self, rows: usize) -> String {
        let mut case = String::from("CASE key");
        for _ in 0..rows {
            let (key, value) = (self.p.next(), self.p.next());
            case.push_str(&format!(" WHEN {key} THEN {value}"));
        }
        case.push_str(" END");
        case
    }

    /// A placeholder for a value of the whole statement.
    fn shared(&mut self) -> String {
        self.p.next()
    }

    /// The statement: `sets`, then `WHERE {filter} AND key IN (…rows…) RETURNING key`.
    fn finish(mut self, sets: &str, filter: &str, rows: usize) -> String {
        let keys: Vec<String> = (0..rows).map(|_| self.p.next()).collect();
        format!(
            "UPDATE uplift_uploads SET {sets} WHERE {filter} AND key IN ({}) RETURNING key",
            keys.join(", ")
        )
    }
}

/// A step of an upload's life written for many rows at once: one `UPDATE` of every queued
/// row (see [`KeyedUpdate`]), answering the keys it changed.
trait Step: Send + Sync + Sized + 'static {
    fn key(&self) -> &str;
    /// Where jobs of this step queue.
    fn batcher(records: &Records) -> &Batcher<Self>;
    /// One `UPDATE` of all `items`; the keys it changed.
    fn write<'a>(
        records: &'a Records,
        items: &'a [&'a Self],
    ) -> BoxFuture<'a, Result<HashSet<String>, sqlx::Error>>;
}

macro_rules! step {
    ($item:ty, $batcher:ident, $write:ident) => {
        impl Step for $item {
            fn key(&self) -> &str {
                &self.key
            }
            fn batcher(records: &Records) -> &Batcher<Self> {
                &records.$batcher
            }
            fn write<'a>(
                records: &'a Records,
                items: &'a [&'a Self],
            ) -> BoxFuture<'a, Result<HashSet<String>, sqlx::Error>> {
                Box::pin(records.$write(items))
            }
        }
    };
}

step!(Completion, completions, complete_rows);
step!(Stored, stored, stored_rows);
step!(Claim, claims, claim_rows);
step!(Unlock, unlocks, unlock_rows);

impl Records {
    /// Inserts the rows of one prepare request, all or nothing, in one statement with the rows
    /// of concurrent requests. Like [`Records::insert`] of `pending` rows, it returns without
    /// waiting for the disk when every row is `pending`: a prepared key nobody has used yet
    /// need not survive a power cut.
    pub async fn insert_prepared(&self, rows: Vec<NewUpload>) -> Result<(), sqlx::Error> {
        self.insert_batched(rows, None).await
    }

    /// [`Records::insert_as`] (all or nothing, durable unless every row is `pending`), in one
    /// statement with the rows of concurrent requests.
    pub async fn insert_batched(
        &self,
        rows: Vec<NewUpload>,
        instance: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        if rows.is_empty() {
            return Ok(());
        }
        let durable = rows.iter().any(|r| r.status != UploadStatus::Pending);
        let job = Rows {
            rows,
            instance: instance.map(str::to_string),
            tus: None,
        };
        self.insert_queued(&self.batch, job).await?;
        if durable {
            self.durable().await?;
        }
        Ok(())
    }

    /// Inserts a tus upload whose bytes follow in the same request (creation-with-upload),
    /// locked by `owner` (of server instance `instance`) until `until_ms`, in one statement
    /// with the tus uploads created by concurrent requests: the request holds the lock from
    /// the start, without a second write to take it.
    ///
    /// It does not wait for the disk. The client learns of the upload only from the answer to
    /// that request, and before that answer the request's own durable write (the offset it
    /// reached, or the stored file) flushes the log up to it and so this row too. Should the
    /// request fail first, the client never learns the id, and a row lost to a power cut is
    /// one nobody can name.
    pub async fn tus_insert_locked(
        &self,
        row: &NewUpload,
        tus: &super::TusState,
        owner: &str,
        until_ms: i64,
        instance: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let job = Rows {
            rows: vec![row.clone()],
            instance: instance.map(str::to_string),
            tus: Some(TusRow {
                offset: super::size_to_db(tus.offset)?,
                length: tus.length.map(super::size_to_db).transpose()?,
                concat: tus.concat.clone(),
                metadata: tus.metadata.clone(),
                owner: owner.to_string(),
                until_ms,
            }),
        };
        self.insert_queued(&self.tus_batch, job).await.map(drop)
    }

    async fn insert_queued(&self, batcher: &Batcher<Rows>, job: Rows) -> Result<bool, sqlx::Error> {
        let records = self.clone();
        batcher
            .submit(
                job,
                |j| j.rows.len(),
                move |jobs| {
                    let records = records.clone();
                    async move { records.write_batch(jobs).await }
                },
            )
            .await
    }

    /// `completing → complete` with the completion hook's answer (`None` and `Some(Null)` are
    /// kept apart), in one statement with the completions of concurrent uploads. `false` if
    /// the row was not `completing`.
    pub async fn mark_complete(
        &self,
        key: &str,
        server_data: Option<&Value>,
        now_ms: i64,
    ) -> Result<bool, sqlx::Error> {
        let item = Completion {
            key: key.to_string(),
            server_data: server_data.map(json_to_db).transpose()?,
            now_ms,
        };
        self.step(item).await
    }

    /// `uploading → completing`, recording what was actually stored (a tus upload's offset
    /// becomes its stored size: every byte arrived), in one statement with the rows of
    /// concurrent uploads. `instance` is recorded as the server instance running the
    /// completion (`None` keeps the one recorded). `false` if the row was not `uploading`.
    pub async fn mark_stored_as(
        &self,
        key: &str,
        stored: &super::StoredInfo,
        instance: Option<&str>,
        now_ms: i64,
    ) -> Result<bool, sqlx::Error> {
        let item = Stored {
            key: key.to_string(),
            size: super::size_to_db(stored.size)?,
            sha256: stored.sha256.clone(),
            crc32: stored.crc32.map(i64::from),
            content_type: stored.content_type.clone(),
            instance: instance.map(str::to_string),
            now_ms,
        };
        self.step(item).await
    }

    /// One `UPDATE` of all `items`. The keys it changed.
    async fn stored_rows(&self, items: &[&Stored]) -> Result<HashSet<String>, sqlx::Error> {
        let n = items.len();
        let mut u = KeyedUpdate::new(self.backend);
        let (size, sha, crc, ct, instance, offset) = (
            u.by_key(n),
            u.by_key(n),
            u.by_key(n),
            u.by_key(n),
            u.by_key(n),
            u.by_key(n),
        );
        let now = u.by_key(n);
        let sql = u.finish(
            &format!(
                "status = 'completing', stored_size = {size}, stored_sha256 = {sha}, \
                 stored_crc32 = {crc}, stored_content_type = {ct}, \
                 instance_id = COALESCE({instance}, instance_id), \
                 tus_offset = CASE WHEN tus_offset IS NULL THEN NULL ELSE {offset} END, \
                 updated_at = {now}"
            ),
            "status = 'uploading'",
            n,
        );
        let mut q = sqlx::query(&sql);
        for s in items {
            q = q.bind(s.key.as_str()).bind(s.size);
        }
        for s in items {
            q = q.bind(s.key.as_str()).bind(s.sha256.as_str());
        }
        for s in items {
            q = q.bind(s.key.as_str()).bind(s.crc32);
        }
        for s in items {
            q = q.bind(s.key.as_str()).bind(s.content_type.as_str());
        }
        for s in items {
            q = q.bind(s.key.as_str()).bind(s.instance.as_deref());
        }
        for s in items {
            q = q.bind(s.key.as_str()).bind(s.size);
        }
        for s in items {
            q = q.bind(s.key.as_str()).bind(s.now_ms);
        }
        for s in items {
            q = q.bind(s.key.as_str());
        }
        returned_keys(q.fetch_all(&self.writer).await?)
    }

    /// `pending → uploading`, if the row is pending and not expired at `now_ms`, recording
    /// `instance` as the server instance receiving its bytes; in one statement with the claims
    /// of concurrent requests. `true` for exactly one of several racing claims of a row.
    pub async fn claim_as(
        &self,
        key: &str,
        instance: Option<&str>,
        now_ms: i64,
    ) -> Result<bool, sqlx::Error> {
        let item = Claim {
            key: key.to_string(),
            instance: instance.map(str::to_string),
            now_ms,
        };
        self.step(item).await
    }

    /// One `UPDATE` of all `items`. The keys it changed.
    async fn claim_rows(&self, items: &[&Claim]) -> Result<HashSet<String>, sqlx::Error> {
        let n = items.len();
        let mut u = KeyedUpdate::new(self.backend);
        let (updated, instance, now) = (u.by_key(n), u.by_key(n), u.by_key(n));
        let sql = u.finish(
            &format!("status = 'uploading', updated_at = {updated}, instance_id = {instance}"),
            &format!("status = 'pending' AND expires_at > {now}"),
            n,
        );
        let mut q = sqlx::query(&sql);
        for c in items {
            q = q.bind(c.key.as_str()).bind(c.now_ms);
        }
        for c in items {
            q = q.bind(c.key.as_str()).bind(c.instance.as_deref());
        }
        for c in items {
            q = q.bind(c.key.as_str()).bind(c.now_ms);
        }
        for c in items {
            q = q.bind(c.key.as_str());
        }
        returned_keys(q.fetch_all(&self.writer).await?)
    }

    /// Releases a tus lock `owner` holds, without other changes, in one statement with the
    /// releases of concurrent requests.
    pub async fn tus_unlock(&self, key: &str, owner: &str) -> Result<(), sqlx::Error> {
        let item = Unlock {
            key: key.to_string(),
            owner: owner.to_string(),
        };
        self.step(item).await.map(drop)
    }

    async fn unlock_rows(&self, items: &[&Unlock]) -> Result<HashSet<String>, sqlx::Error> {
        // Owners are unique: a row is released when its owner is among them, whichever job
        // of a key comes first (a stale owner's release next to the live owner's, say).
        let mut u = KeyedUpdate::new(self.backend);
        let owners: Vec<String> = items.iter().map(|_| u.shared()).collect();
        let sql = u.finish(
            "tus_lock_owner = NULL, tus_lock_until = NULL",
            &format!("tus_lock_owner IN ({})", owners.join(", ")),
            items.len(),
        );
        let mut q = sqlx::query(&sql);
        for i in items {
            q = q.bind(i.owner.as_str());
        }
        for i in items {
            q = q.bind(i.key.as_str());
        }
        returned_keys(q.fetch_all(&self.writer).await?)
    }

    /// One `UPDATE` of all `items`: each row's server data by its key. The keys it changed.
    async fn complete_rows(&self, items: &[&Completion]) -> Result<HashSet<String>, sqlx::Error> {
        let mut u = KeyedUpdate::new(self.backend);
        let data = u.by_key(items.len());
        let now = u.shared();
        let sql = u.finish(
            &format!("status = 'complete', server_data = {data}, updated_at = {now}"),
            "status = 'completing'",
            items.len(),
        );
        let mut q = sqlx::query(&sql);
        for c in items {
            q = q.bind(c.key.as_str()).bind(c.server_data.as_deref());
        }
        q = q.bind(items.iter().map(|c| c.now_ms).max().unwrap_or_default());
        for c in items {
            q = q.bind(c.key.as_str());
        }
        returned_keys(q.fetch_all(&self.writer).await?)
    }

    /// Queues `item` and returns once it is written, and on disk: whether it changed its row.
    async fn step<S: Step>(&self, item: S) -> Result<bool, sqlx::Error> {
        let records = self.clone();
        let done = S::batcher(self)
            .submit(
                item,
                |_| 1,
                move |jobs| {
                    let records = records.clone();
                    async move { records.write_step(jobs).await }
                },
            )
            .await?;
        self.durable().await?;
        Ok(done)
    }

    async fn write_step<S: Step>(&self, jobs: Vec<Job<S>>) {
        let items: Vec<&S> = jobs.iter().map(|j| &j.item).collect();
        let result = S::write(self, &items).await;
        drop(items);
        let records = self.clone();
        answer(
            jobs,
            result.map(|mut done| move |s: &S| done.remove(s.key())),
            move |s| {
                let records = records.clone();
                Box::pin(async move { Ok(S::write(&records, &[s]).await?.contains(s.key())) })
            },
        )
        .await;
    }

    async fn write_batch(&self, mut jobs: Vec<Job<Rows>>) {
        // A request of more rows than one statement carries: its own transaction.
        if let Some(job) = jobs.pop_if(|j| j.item.rows.len() > MAX_ROWS) {
            let result = self.insert_alone(&job.item).await;
            let _ = job.done.send(result);
            return;
        }
        let rows: Vec<(&NewUpload, &Rows)> = jobs
            .iter()
            .flat_map(|j| j.item.rows.iter().map(|r| (r, &j.item)))
            .collect();
        let result = self.insert_rows(&rows).await;
        drop(rows);
        // Whose rows failed: each request alone, in its own transaction.
        let records = self.clone();
        answer(jobs, result.map(|()| |_: &Rows| true), move |job| {
            let records = records.clone();
            Box::pin(async move { records.insert_alone(job).await })
        })
        .await;
    }

    /// One request's rows alone: one statement (all or nothing), or a transaction when they
    /// are more than one statement carries.
    async fn insert_alone(&self, job: &Rows) -> Result<bool, sqlx::Error> {
        if job.rows.len() > MAX_ROWS {
            self.insert_as(&job.rows, job.instance.as_deref()).await?;
        } else {
            let rows: Vec<(&NewUpload, &Rows)> = job.rows.iter().map(|r| (r, job)).collect();
            self.insert_rows(&rows).await?;
        }
        Ok(true)
    }

    /// One `INSERT` of all `rows` (each with the request it belongs to), with the tus columns
    /// when the first row's request has them (a batch holds tus uploads only, or none).
    async fn insert_rows(&self, rows: &[(&NewUpload, &Rows)]) -> Result<(), sqlx::Error> {
        let tus = rows.first().is_some_and(|(_, job)| job.tus.is_some());
        let mut sql = format!(
            "INSERT INTO uplift_uploads ({}, caller, reserved, instance_id{}) VALUES ",
            super::COLUMNS,
            if tus {
                ", tus_offset, tus_length, tus_concat, tus_metadata, tus_lock_owner, tus_lock_until"
            } else {
                ""
            }
        );
        let per_row = if tus { 29 } else { 23 };
        let mut p = Params::new(self.backend);
        for i in 0..rows.len() {
            let row: Vec<String> = (0..per_row).map(|_| p.next()).collect();
            sql.push_str(if i == 0 { "(" } else { ", (" });
            sql.push_str(&row.join(", "));
            sql.push(')');
        }
        let mut q = sqlx::query(&sql);
        for (row, job) in rows {
            q = bind_caller(bind_new(q, row)?, row)?.bind(job.instance.as_deref());
            if tus {
                let t = job.tus.as_ref().ok_or_else(|| {
                    sqlx::Error::Protocol("a tus batch holds tus rows only".into())
                })?;
                q = q
                    .bind(t.offset)
                    .bind(t.length)
                    .bind(t.concat.as_deref())
                    .bind(t.metadata.as_deref())
                    .bind(t.owner.as_str())
                    .bind(t.until_ms);
            }
        }
        q.execute(&self.writer).await?;
        Ok(())
    }
}

/// Tells each job of a batch how it fared: for all, when the batch went in (`done` says
/// whether each job changed its row; of several jobs for one row, only the first queued can
/// have: a `CASE key` takes its first match), failed for a reason other than its rows, or was
/// one job; when the database refused the rows, each job is written again alone with
/// `alone`, so that only a bad one fails.
async fn answer<J, D, F>(mut jobs: Vec<Job<J>>, result: Result<D, sqlx::Error>, alone: F)
where
    D: FnMut(&J) -> bool,
    F: for<'a> Fn(&'a J) -> BoxFuture<'a, Result<bool, sqlx::Error>>,
{
    match result {
        Ok(mut done) => {
            for job in jobs {
                let _ = job.done.send(Ok(done(&job.item)));
            }
        }
        Err(e) if jobs.len() == 1 => {
            if let Some(job) = jobs.pop() {
                let _ = job.done.send(Err(e));
            }
        }
        // The database refused the statement (a key taken, say): it changed nothing, so find
        // whose job it was by writing each alone.
        Err(sqlx::Error::Database(_)) => {
            for job in jobs {
                let result = alone(&job.item).await;
                let _ = job.done.send(result);
            }
        }
        // Anything else (the connection lost, say) may have come after the commit: writing
        // again could report a change made as refused. Every job hears of the failure.
        Err(e) => {
            let message = e.to_string();
            for job in jobs {
                let _ = job.done.send(Err(sqlx::Error::Protocol(format!(
                    "a batched write failed: {message}"
                ))));
            }
        }
    }
}

/// Parameter placeholders of one statement, in order. SQLite takes `$n` for a parameter
/// *named* "$n", and sqlx looks every name up in a list SQLite scans from the start: quadratic
/// in the parameters of a batch (a fifth of prepare's CPU at 64 rows). Plain `?` parameters
/// are positional; PostgreSQL numbers them.
struct Params {
    numbered: bool,
    n: usize,
}

impl Params {
    fn new(backend: super::Backend) -> Params {
        Params {
            numbered: backend == super::Backend::Postgres,
            n: 0,
        }
    }

    fn next(&mut self) -> String {
        self.n += 1;
        if self.numbered {
            format!("${}", self.n)
        } else {
            "?".to_string()
        }
    }
}

/// The `key` column of each row a `RETURNING key` statement answered.
fn returned_keys(rows: Vec<sqlx::any::AnyRow>) -> Result<HashSet<String>, sqlx::Error> {
    rows.iter()
        .map(|row| row.try_get::<String, _>("key"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    /// A batcher of numbers whose writes take `delay` and record what they wrote.
    fn slow_writer(
        written: Arc<Mutex<Vec<u32>>>,
        delay: Duration,
    ) -> impl Fn(Vec<Job<u32>>) -> BoxFuture<'static, ()> + Clone {
        move |jobs: Vec<Job<u32>>| {
            let written = written.clone();
            Box::pin(async move {
                tokio::time::sleep(delay).await;
                for job in jobs {
                    written.lock().unwrap().push(job.item);
                    let _ = job.done.send(Ok(true));
                }
            })
        }
    }

    #[tokio::test]
    async fn a_job_written_by_a_caller_that_went_away_still_gets_its_answer() {
        let batcher = Arc::new(Batcher::<u32>::default());
        let written = Arc::new(Mutex::new(Vec::new()));
        let write = slow_writer(written.clone(), Duration::from_millis(200));
        let (b1, w1) = (batcher.clone(), write.clone());
        let first = tokio::spawn(async move { b1.submit(1, |_| 1, w1).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (b2, w2) = (batcher.clone(), write.clone());
        let second = tokio::spawn(async move { b2.submit(2, |_| 1, w2).await });
        // The first caller's batch (its job alone) is being written; the second waits its
        // turn. The first goes away: the second writes its own job.
        tokio::time::sleep(Duration::from_millis(20)).await;
        first.abort();
        assert!(second.await.unwrap().unwrap());
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(*written.lock().unwrap(), vec![1, 2]);
    }

    #[tokio::test]
    async fn a_caller_taken_into_a_detached_batch_waits_for_that_batch() {
        let batcher = Arc::new(Batcher::<u32>::default());
        let written = Arc::new(Mutex::new(Vec::new()));
        let write = slow_writer(written.clone(), Duration::from_millis(200));
        // Three callers: the first writes a batch of its own job, the second's turn comes
        // next and takes the second and third jobs into one batch, then goes away while it
        // is written. The third must get that batch's answer, not an error.
        let spawn = |n: u32| {
            let (b, w) = (batcher.clone(), write.clone());
            tokio::spawn(async move { b.submit(n, |_| 1, w).await })
        };
        let first = spawn(1);
        tokio::time::sleep(Duration::from_millis(20)).await;
        let second = spawn(2);
        let third = spawn(3);
        assert!(first.await.unwrap().unwrap());
        tokio::time::sleep(Duration::from_millis(20)).await;
        second.abort();
        assert!(third.await.unwrap().unwrap());
        assert_eq!(*written.lock().unwrap(), vec![1, 2, 3]);
    }

    /// Where a job's answer arrives.
    type Answer = oneshot::Receiver<Result<bool, sqlx::Error>>;

    fn jobs(n: u32) -> (Vec<Job<u32>>, Vec<Answer>) {
        (0..n)
            .map(|i| {
                let (done, rx) = oneshot::channel();
                (
                    Job {
                        id: u64::from(i),
                        item: i,
                        done,
                    },
                    rx,
                )
            })
            .unzip()
    }

    #[tokio::test]
    async fn a_batch_that_failed_for_another_reason_than_its_rows_is_not_written_again() {
        let (batch, answers) = jobs(3);
        let lost = sqlx::Error::Io(std::io::Error::other("connection reset"));
        answer(batch, Err::<fn(&u32) -> bool, _>(lost), |_| {
            panic!("a failure after the commit is never retried")
        })
        .await;
        for rx in answers {
            let err = rx.await.unwrap().unwrap_err().to_string();
            assert!(err.contains("connection reset"), "{err}");
        }
        // Written in: each job hears whether it changed its row.
        let (batch, answers) = jobs(3);
        answer(batch, Ok(|i: &u32| *i != 1), |_| panic!("nothing to retry")).await;
        let mut got = Vec::new();
        for rx in answers {
            got.push(rx.await.unwrap().unwrap());
        }
        assert_eq!(got, vec![true, false, true]);
    }

    #[tokio::test]
    async fn a_caller_that_goes_away_before_its_turn_takes_its_job_back() {
        let batcher = Arc::new(Batcher::<u32>::default());
        let written = Arc::new(Mutex::new(Vec::new()));
        let write = slow_writer(written.clone(), Duration::from_millis(100));
        let spawn = |n: u32| {
            let (b, w) = (batcher.clone(), write.clone());
            tokio::spawn(async move { b.submit(n, |_| 1, w).await })
        };
        let first = spawn(1);
        tokio::time::sleep(Duration::from_millis(20)).await;
        let gone = spawn(2);
        tokio::time::sleep(Duration::from_millis(20)).await;
        gone.abort();
        assert!(first.await.unwrap().unwrap());
        let later = spawn(3);
        assert!(later.await.unwrap().unwrap());
        assert_eq!(
            *written.lock().unwrap(),
            vec![1, 3],
            "job 2 was never written"
        );
    }
}
