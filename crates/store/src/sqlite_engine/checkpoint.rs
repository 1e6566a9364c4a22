//! SQLite's background checkpointer: while transactions commit, copies the write-ahead log
//! into the database on its own connection (PASSIVE: never waits for, nor blocks, the
//! committer), so that commits do not stop for it (with automatic checkpoints, one commit
//! in every hundred or so copied a thousand pages and waited for two fsyncs). A log that
//! is only copied alongside writes never starts afresh, so when little is left the
//! committer completes it between two commits.

use super::SqliteEngine;
use sqlx::Row;
use std::sync::atomic::Ordering::{AcqRel, Release};

/// How often the background checkpointer looks at the log.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);
/// Frames the committer copies itself to complete a checkpoint: what the background one
/// left (written meanwhile) when it is at most this, or everything once the log is this
/// many times longer (a reader held the background one back).
const CHECKPOINT_REST: i64 = 512;
const CHECKPOINT_MAX: i64 = 32_768;

/// The checkpointer (started with the first writing connection). Ends with the engine.
pub(super) async fn checkpoints(engine: std::sync::Weak<SqliteEngine>, pool: sqlx::AnyPool) {
    loop {
        tokio::time::sleep(CHECKPOINT_EVERY).await;
        let Some(e) = engine.upgrade() else { break };
        if !e.committer.written.swap(false, AcqRel) {
            continue;
        }
        drop(e);
        let Ok(row) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&pool)
            .await
        else {
            continue;
        };
        let (log, copied) = (
            row.try_get::<i64, _>(1).unwrap_or(0),
            row.try_get::<i64, _>(2).unwrap_or(0),
        );
        if log > 0 && (log - copied <= CHECKPOINT_REST || log >= CHECKPOINT_MAX) {
            if let Some(e) = engine.upgrade() {
                e.committer.checkpoint_due.store(true, Release);
            }
        }
    }
}
