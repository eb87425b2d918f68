//! The call log (RFC 3261 §13, §15): one row per initial INVITE the proxy handled, with the
//! caller, the callee, when it started, was answered and ended, and the final response code.
//! Plain SQL with `$n` placeholders, which SQLite and PostgreSQL both accept.

use super::{on_db, Store, StoreError};
use crate::proxy::calls::CallEvent;
use crate::proxy::StoreOp;
use sqlx::Row;
use std::collections::HashMap;

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

/// The statement that records `$ev` at `$at` (milliseconds since the Unix epoch), for either
/// backend: the query's type depends on the pool it will run on, so it is built in place.
macro_rules! call_query {
    ($ev:expr, $at:expr) => {
        match $ev {
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
            .bind($at),
            CallEvent::Answered { id, code } => {
                sqlx::query("UPDATE calls SET answered_at = $2, final_code = $3 WHERE id = $1")
                    .bind(id)
                    .bind($at)
                    .bind(i32::from(*code))
            }
            CallEvent::Failed { id, code } => {
                sqlx::query("UPDATE calls SET ended_at = $2, final_code = $3 WHERE id = $1")
                    .bind(id)
                    .bind($at)
                    .bind(i32::from(*code))
            }
            CallEvent::Ended { id } => {
                sqlx::query("UPDATE calls SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL")
                    .bind(id)
                    .bind($at)
            }
        }
    };
}

/// Rows in one multi-row INSERT at most (8 parameters each).
const INSERT_ROWS: usize = 100;

/// A call that starts in a batch, with what the rest of the batch says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NewRow<'a> {
    id: &'a str,
    call_id: &'a str,
    caller: &'a str,
    callee: &'a str,
    started_at: i64,
    answered_at: Option<i64>,
    ended_at: Option<i64>,
    final_code: Option<i32>,
}

/// Splits a batch into the rows of the calls that start in it, each with its later events of
/// the batch applied as the UPDATEs of [`call_query`] would apply them, and the events of
/// other calls (started in an earlier batch), in order.
fn fold_events<'a>(
    events: &[(&'a CallEvent, i64)],
) -> (Vec<NewRow<'a>>, Vec<(&'a CallEvent, i64)>) {
    let mut rows: Vec<NewRow<'a>> = Vec::new();
    let mut index: HashMap<&'a str, usize> = HashMap::new();
    let mut updates = Vec::new();
    for &(ev, at) in events {
        let row = match ev {
            CallEvent::Started {
                id,
                call_id,
                caller,
                callee,
            } => {
                if !index.contains_key(id.as_str()) {
                    index.insert(id, rows.len());
                    rows.push(NewRow {
                        id,
                        call_id,
                        caller,
                        callee,
                        started_at: at,
                        answered_at: None,
                        ended_at: None,
                        final_code: None,
                    });
                }
                continue;
            }
            CallEvent::Answered { id, .. }
            | CallEvent::Failed { id, .. }
            | CallEvent::Ended { id } => index.get(id.as_str()).and_then(|&i| rows.get_mut(i)),
        };
        let Some(row) = row else {
            updates.push((ev, at));
            continue;
        };
        match ev {
            CallEvent::Answered { code, .. } => {
                row.answered_at = Some(at);
                row.final_code = Some(i32::from(*code));
            }
            CallEvent::Failed { code, .. } => {
                row.ended_at = Some(at);
                row.final_code = Some(i32::from(*code));
            }
            CallEvent::Ended { .. } => {
                row.ended_at = row.ended_at.or(Some(at));
            }
            CallEvent::Started { .. } => {}
        }
    }
    (rows, updates)
}

impl Store {
    /// Records one call event `at` milliseconds since the Unix epoch.
    pub async fn log_call(&self, ev: &CallEvent, at: i64) -> Result<(), StoreError> {
        on_db!(self, p => call_query!(ev, at).execute(p).await.map(drop))?;
        Ok(())
    }

    /// Records call events in order in one transaction: one commit (one journal sync for
    /// SQLite) for the whole batch instead of one per event, which is what lets the log keep
    /// up with thousands of calls per second. The events of a call that starts in the batch
    /// are folded into its row, and the new rows go in multi-row INSERTs: a short call costs
    /// a fraction of one statement instead of three. Either all of them are recorded or none.
    pub async fn log_calls(&self, events: &[(&CallEvent, i64)]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let (rows, updates) = fold_events(events);
        on_db!(self, p => {
            let mut tx = p.begin().await?;
            for chunk in rows.chunks(INSERT_ROWS) {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO calls (id, call_id, caller, callee, started_at, answered_at, \
                     ended_at, final_code) ",
                );
                q.push_values(chunk, |mut b, r| {
                    b.push_bind(r.id)
                        .push_bind(r.call_id)
                        .push_bind(r.caller)
                        .push_bind(r.callee)
                        .push_bind(r.started_at)
                        .push_bind(r.answered_at)
                        .push_bind(r.ended_at)
                        .push_bind(r.final_code);
                });
                q.push(" ON CONFLICT (id) DO NOTHING");
                q.build().execute(&mut *tx).await?;
            }
            for (ev, at) in &updates {
                call_query!(*ev, *at).execute(&mut *tx).await?;
            }
            tx.commit().await
        })?;
        Ok(())
    }

    /// Applies the changes the proxy reported, in order: runs of call-log events go in one
    /// transaction each ([`log_calls`](Self::log_calls)), the rarer binding changes one by
    /// one. A run whose transaction fails is retried event by event. Returns how many
    /// changes failed, with the last error.
    pub async fn apply_batch(&self, ops: &[(StoreOp, i64)]) -> (usize, Option<StoreError>) {
        let mut failed = 0;
        let mut last = None;
        let mut run: Vec<(&CallEvent, i64)> = Vec::new();
        let mut i = 0;
        while i < ops.len() {
            run.clear();
            while let Some((StoreOp::Call(ev), at)) = ops.get(i) {
                run.push((ev, *at));
                i += 1;
            }
            if !run.is_empty() {
                if self.log_calls(&run).await.is_err() {
                    // The transaction was rolled back: record what can be, one by one.
                    for (ev, at) in &run {
                        if let Err(e) = self.log_call(ev, *at).await {
                            failed += 1;
                            last = Some(e);
                        }
                    }
                }
                continue;
            }
            if let Some((op, at)) = ops.get(i) {
                if let Err(e) = self.apply(op, *at).await {
                    failed += 1;
                    last = Some(e);
                }
            }
            i += 1;
        }
        (failed, last)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn started(id: &str) -> CallEvent {
        CallEvent::Started {
            id: id.into(),
            call_id: format!("{id}@x"),
            caller: "alice@x".into(),
            callee: "bob@x".into(),
        }
    }

    /// The events of a few calls as the proxy reports them: answered and ended, failed,
    /// answered with its BYE in a later batch, ended twice, and an update for a call of an
    /// earlier batch.
    fn script() -> Vec<(StoreOp, i64)> {
        let call = |e| StoreOp::Call(e);
        vec![
            (call(started("a")), 10),
            (call(started("b")), 11),
            (
                call(CallEvent::Answered {
                    id: "a".into(),
                    code: 200,
                }),
                12,
            ),
            (
                call(CallEvent::Failed {
                    id: "b".into(),
                    code: 486,
                }),
                13,
            ),
            (call(started("c")), 14),
            (call(CallEvent::Ended { id: "a".into() }), 15),
            (
                call(CallEvent::Answered {
                    id: "c".into(),
                    code: 200,
                }),
                16,
            ),
            (call(CallEvent::Ended { id: "a".into() }), 17),
            (call(CallEvent::Ended { id: "b".into() }), 18),
            (
                StoreOp::RemoveBindings {
                    user: "nobody".into(),
                },
                19,
            ),
            (call(CallEvent::Ended { id: "c".into() }), 20),
            (call(CallEvent::Ended { id: "old".into() }), 21),
        ]
    }

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).await.expect("open");
        (dir, store)
    }

    #[tokio::test]
    async fn batches_write_what_single_writes_write() {
        let ops = script();
        let (_d1, one_by_one) = store().await;
        let (_d2, batched) = store().await;
        for s in [&one_by_one, &batched] {
            s.log_call(&started("old"), 1).await.expect("old call");
        }
        for (op, at) in &ops {
            one_by_one.apply(op, *at).await.expect("apply");
        }
        // The BYE of `c` lands in a second batch.
        let split = ops.len() - 2;
        let (first, second) = ops.split_at(split);
        assert_eq!(batched.apply_batch(first).await.0, 0);
        assert_eq!(batched.apply_batch(second).await.0, 0);
        let expected = one_by_one.calls(10).await.expect("calls");
        assert_eq!(expected.len(), 4);
        assert_eq!(batched.calls(10).await.expect("calls"), expected);
        let a = expected.iter().find(|r| r.id == "a").expect("a");
        assert_eq!(
            (a.answered_at, a.ended_at, a.final_code),
            (Some(12), Some(15), Some(200))
        );
        let b = expected.iter().find(|r| r.id == "b").expect("b");
        assert_eq!(
            (b.answered_at, b.ended_at, b.final_code),
            (None, Some(13), Some(486))
        );
    }

    #[tokio::test]
    async fn a_large_batch_is_written_whole() {
        let (_d, s) = store().await;
        let mut ops = Vec::new();
        for i in 0..(INSERT_ROWS * 2 + 7) {
            let id = format!("call{i}");
            ops.push((StoreOp::Call(started(&id)), 100));
            ops.push((
                StoreOp::Call(CallEvent::Answered {
                    id: id.clone(),
                    code: 200,
                }),
                101,
            ));
            ops.push((StoreOp::Call(CallEvent::Ended { id }), 102));
        }
        assert_eq!(s.apply_batch(&ops).await.0, 0);
        let rows = s.calls(1000).await.expect("calls");
        assert_eq!(rows.len(), INSERT_ROWS * 2 + 7);
        assert!(rows
            .iter()
            .all(|r| r.answered_at == Some(101) && r.ended_at == Some(102)));
    }
}
