//! SQLite's own reading connections (rusqlite), used in the calling thread. A read ahead or
//! a request's key takes a few rows of indexed tables, tens of microseconds: less than
//! handing the query to a connection's thread and being woken with the rows (sqlx's SQLite
//! connections), which under load cost more than the reads themselves.

use super::{bind_dollars, SqliteEngine};
use crate::Result;

/// Idle reading connections.
#[derive(Debug, Default)]
pub(super) struct Readers {
    idle: std::sync::Mutex<Vec<rusqlite::Connection>>,
}

/// Idle reading connections kept.
const READERS_KEPT: usize = 8;

impl SqliteEngine {
    /// Runs `read` on one of SQLite's own reading connections (opened when none is idle).
    pub(crate) fn read<T>(
        &self,
        read: impl FnOnce(&rusqlite::Connection) -> Result<T>,
    ) -> Result<T> {
        let idle = self
            .readers
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        let conn = match idle {
            Some(c) => c,
            None => {
                let c = self.connection()?;
                // A reader waits only for what WAL makes readers wait for (recovery).
                c.busy_timeout(std::time::Duration::from_secs(1))?;
                c.execute_batch("PRAGMA query_only = ON;")?;
                c
            }
        };
        let out = read(&conn);
        if out.is_ok() {
            let mut idle = self.readers.idle.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < READERS_KEPT {
                idle.push(conn);
            }
        }
        out
    }
}

/// The rows `sql` gives with `params`, each decoded by `each` (a statement prepared once
/// per connection).
pub(crate) fn rows<T>(
    c: &rusqlite::Connection,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
    mut each: impl FnMut(&rusqlite::Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = c.prepare_cached(sql)?;
    bind_dollars(&mut stmt, params)?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(each(r)?);
    }
    Ok(out)
}
