//! Prepared uploads, inserted in batches.
//!
//! Under load, prepare requests arrive faster than one-row statements can be written one after
//! the other: each costs a trip to the database (for SQLite, to its worker thread) and a
//! commit. Here every caller queues its rows and waits its turn for the batch lock (fair, first
//! come first served). Whoever holds it writes everything queued so far — its own rows and the
//! rows of those waiting behind it — as one multi-row `INSERT`, and tells each caller how its
//! rows fared. Callers whose rows went in with an earlier batch find their answer waiting and
//! return without writing. While one batch is written the next one gathers, so the batch size
//! follows the load: one row when idle, dozens under pressure, never more than [`MAX_ROWS`].
//!
//! A request's rows stay all or nothing: a batch is one statement, and should it fail (a key
//! taken, say) every request of it is retried alone with its own transaction, so one bad
//! request never fails another.

use std::sync::Mutex;

use tokio::sync::oneshot;

use super::{bind_caller, bind_new, NewUpload, Records};
use crate::protocol::UploadStatus;

/// Most rows one statement carries (23 parameters each: far below both databases' limits).
const MAX_ROWS: usize = 64;

/// One request's rows and where its outcome goes.
struct Job {
    rows: Vec<NewUpload>,
    done: oneshot::Sender<Result<(), sqlx::Error>>,
}

/// The queue of rows waiting for a batch, and the lock a batch is written under.
#[derive(Default)]
pub(crate) struct Batcher {
    queue: Mutex<Vec<Job>>,
    turn: tokio::sync::Mutex<()>,
}

impl Batcher {
    /// The oldest queued jobs, up to [`MAX_ROWS`] rows (at least one job, whatever its size).
    fn next(&self) -> Vec<Job> {
        let mut queue = self
            .queue
            .lock()
            .expect("the batch queue is never poisoned");
        let mut rows = 0;
        let take = queue
            .iter()
            .position(|j| {
                rows += j.rows.len();
                rows > MAX_ROWS
            })
            .unwrap_or(queue.len())
            .max(1)
            .min(queue.len());
        queue.drain(..take).collect()
    }
}

impl Records {
    /// Inserts the rows of one prepare request, all or nothing, in one statement with the rows
    /// of concurrent requests. Like [`Records::insert`] of `pending` rows, it returns without
    /// waiting for the disk when every row is `pending`: a prepared key nobody has used yet
    /// need not survive a power cut.
    pub async fn insert_prepared(&self, rows: Vec<NewUpload>) -> Result<(), sqlx::Error> {
        if rows.is_empty() {
            return Ok(());
        }
        let durable = rows.iter().any(|r| r.status != UploadStatus::Pending);
        let (done, mut outcome) = oneshot::channel();
        self.batch
            .queue
            .lock()
            .expect("the batch queue is never poisoned")
            .push(Job { rows, done });
        let turn = self.batch.turn.lock().await;
        let result = loop {
            match outcome.try_recv() {
                Ok(result) => break result,
                // The task writing these rows went away without an answer (its runtime shut
                // down): they may or may not be in.
                Err(oneshot::error::TryRecvError::Closed) => break Err(sqlx::Error::WorkerCrashed),
                // Not written yet: write the oldest rows queued, these among them or ahead.
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            let jobs = self.batch.next();
            if jobs.is_empty() {
                break Err(sqlx::Error::WorkerCrashed);
            }
            // On a task of its own, so that this caller going away (its client hung up)
            // does not take the other callers' rows with it.
            let records = self.clone();
            let _ = tokio::spawn(async move { records.write_batch(jobs).await }).await;
        };
        drop(turn);
        match result {
            Ok(()) if durable => self.durable().await,
            other => other,
        }
    }

    async fn write_batch(&self, mut jobs: Vec<Job>) {
        // A request of more rows than one statement carries: its own transaction.
        let alone = jobs.len() == 1;
        if let Some(job) = jobs.pop_if(|j| alone && j.rows.len() > MAX_ROWS) {
            let result = self.insert(&job.rows).await;
            let _ = job.done.send(result);
            return;
        }
        let rows: Vec<&NewUpload> = jobs.iter().flat_map(|j| &j.rows).collect();
        let result = self.insert_rows(&rows).await;
        drop(rows);
        match result {
            Ok(()) => {
                for job in jobs {
                    let _ = job.done.send(Ok(()));
                }
            }
            Err(e) if alone => {
                if let Some(job) = jobs.pop() {
                    let _ = job.done.send(Err(e));
                }
            }
            Err(_) => {
                // Find whose rows failed: each request alone, in its own transaction.
                for job in jobs {
                    let result = self.insert(&job.rows).await;
                    let _ = job.done.send(result);
                }
            }
        }
    }

    /// One `INSERT` of all `rows`.
    async fn insert_rows(&self, rows: &[&NewUpload]) -> Result<(), sqlx::Error> {
        let mut sql = format!(
            "INSERT INTO uplift_uploads ({}, caller, reserved, instance_id) VALUES ",
            super::COLUMNS
        );
        const PER_ROW: usize = 23;
        // SQLite takes `$n` for a parameter *named* "$n", and sqlx looks every name up in a
        // list SQLite scans from the start: quadratic in the parameters of a batch (a fifth
        // of prepare's CPU at 64 rows). Plain `?` parameters are positional.
        let numbered = self.backend == super::Backend::Postgres;
        for i in 0..rows.len() {
            sql.push_str(if i == 0 { "(" } else { ", (" });
            for p in 1..=PER_ROW {
                if p > 1 {
                    sql.push_str(", ");
                }
                if numbered {
                    sql.push('$');
                    sql.push_str(&(i * PER_ROW + p).to_string());
                } else {
                    sql.push('?');
                }
            }
            sql.push(')');
        }
        let mut q = sqlx::query(&sql);
        for row in rows {
            q = bind_caller(bind_new(q, row)?, row)?.bind(None::<String>);
        }
        q.execute(&self.writer).await?;
        Ok(())
    }
}
