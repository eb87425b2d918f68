//! The call log (RFC 3261 §13, §15): one row per initial INVITE the proxy handled, with the
//! caller, the callee, when it started, was answered and ended, and the final response code.
//! Plain SQL with `$n` placeholders, which SQLite and PostgreSQL both accept.

use super::{on_db, Store, StoreError};
use crate::proxy::calls::CallEvent;
use sqlx::Row;

/// One row of the call log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRow {
    /// The entry's id.
    pub id: String,
    /// The Call-ID.
    pub call_id: String,
    /// The From AOR.
    pub caller: String,
    /// The Request-URI AOR.
    pub callee: String,
    /// Milliseconds since the Unix epoch.
    pub started_at: i64,
    /// When a 2xx went to the caller.
    pub answered_at: Option<i64>,
    /// When the BYE went through, or the final non-2xx went to the caller.
    pub ended_at: Option<i64>,
    /// The final response code the caller got.
    pub final_code: Option<i32>,
}

impl Store {
    /// Records one call event `at` milliseconds since the Unix epoch.
    pub async fn log_call(&self, ev: &CallEvent, at: i64) -> Result<(), StoreError> {
        on_db!(self, p => (match ev {
            CallEvent::Started {
                id,
                call_id,
                caller,
                callee,
            } => sqlx::query(
                "INSERT INTO calls (id, call_id, caller, callee, started_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(call_id)
            .bind(caller)
            .bind(callee)
            .bind(at),
            CallEvent::Answered { id, code } => {
                sqlx::query("UPDATE calls SET answered_at = $2, final_code = $3 WHERE id = $1")
                    .bind(id)
                    .bind(at)
                    .bind(i32::from(*code))
            }
            CallEvent::Failed { id, code } => {
                sqlx::query("UPDATE calls SET ended_at = $2, final_code = $3 WHERE id = $1")
                    .bind(id)
                    .bind(at)
                    .bind(i32::from(*code))
            }
            CallEvent::Ended { id } => {
                sqlx::query("UPDATE calls SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL")
                    .bind(id)
                    .bind(at)
            }
        }).execute(p).await.map(drop))?;
        Ok(())
    }

    /// The last `limit` calls, newest first.
    pub async fn calls(&self, limit: i64) -> Result<Vec<CallRow>, StoreError> {
        on_db!(self, p => {
        let rows = sqlx::query(
            "SELECT id, call_id, caller, callee, started_at, answered_at, ended_at, final_code \
             FROM calls ORDER BY started_at DESC, id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(p)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CallRow {
                    id: r.try_get("id")?,
                    call_id: r.try_get("call_id")?,
                    caller: r.try_get("caller")?,
                    callee: r.try_get("callee")?,
                    started_at: r.try_get("started_at")?,
                    answered_at: r.try_get("answered_at")?,
                    ended_at: r.try_get("ended_at")?,
                    final_code: r.try_get("final_code")?,
                })
            })
            .collect()
        })
    }
}
