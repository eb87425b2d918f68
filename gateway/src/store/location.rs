//! Persisted registrations (RFC 3261 §10.3): the bindings that outlive a connection, written
//! as the registrar changes them and read back at start-up. Plain SQL with `$n` placeholders,
//! which SQLite and PostgreSQL both accept.

use super::{on_db, Store, StoreError};
use crate::proxy::StoreOp;
use crate::registrar::Binding;
use sipsimple::sip::Uri;
use sipsimple::transaction::{Dest, TransportKind};
use sqlx::Row;

/// A binding read back from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBinding {
    /// The user.
    pub user: String,
    /// The contact URI.
    pub contact: Uri,
    /// Where its REGISTER came from (no connection: those did not survive).
    pub source: Dest,
    /// Milliseconds since the Unix epoch.
    pub expires_at: i64,
    /// The cluster node holding it (`''` for a gateway on its own).
    pub node_id: String,
    /// The SIP URI that node is reached on (`''` alone).
    pub node_uri: String,
}

impl Store {
    /// Applies one change the proxy reported, `at` milliseconds since the Unix epoch.
    pub async fn apply(&self, op: &StoreOp, at: i64) -> Result<(), StoreError> {
        match op {
            StoreOp::SaveBinding {
                user,
                binding,
                expires_in,
            } => self.save_binding(user, binding, at, *expires_in).await,
            StoreOp::RemoveBinding { user, contact } => {
                on_db!(self, p => sqlx::query(
                    "DELETE FROM registrations WHERE username = $1 AND contact = $2",
                )
                .bind(user)
                .bind(contact)
                .execute(p)
                .await
                .map(drop))?;
                Ok(())
            }
            StoreOp::RemoveBindings { user } => {
                on_db!(self, p => sqlx::query("DELETE FROM registrations WHERE username = $1")
                    .bind(user)
                    .execute(p)
                    .await
                    .map(drop))?;
                Ok(())
            }
            StoreOp::ForgetFlowBinding { user, contact } => {
                // Only this node's row: the user may have registered the same contact on
                // another node since.
                on_db!(self, p => sqlx::query(
                    "DELETE FROM registrations WHERE username = $1 AND contact = $2 \
                     AND node_id = $3",
                )
                .bind(user)
                .bind(contact)
                .bind(&self.node.id)
                .execute(p)
                .await
                .map(drop))?;
                Ok(())
            }
            StoreOp::Call(ev) => self.log_call(ev, at).await,
        }
    }

    async fn save_binding(
        &self,
        user: &str,
        b: &Binding,
        at: i64,
        expires_in: u64,
    ) -> Result<(), StoreError> {
        let expires_in = i64::try_from(expires_in.saturating_mul(1000)).unwrap_or(i64::MAX);
        on_db!(self, p => sqlx::query(
            "INSERT INTO registrations (username, contact, transport, source_host, \
             source_port, expires_at, updated_at, node_id, node_uri) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (username, contact) DO UPDATE SET transport = excluded.transport, \
             source_host = excluded.source_host, source_port = excluded.source_port, \
             expires_at = excluded.expires_at, updated_at = excluded.updated_at, \
             node_id = excluded.node_id, node_uri = excluded.node_uri",
        )
        .bind(user)
        .bind(b.contact.to_string())
        .bind(b.source.transport.via_name())
        .bind(&b.source.host)
        .bind(i32::from(b.source.port))
        .bind(at.saturating_add(expires_in))
        .bind(at)
        .bind(&self.node.id)
        .bind(&self.node.uri)
        .execute(p)
        .await
        .map(drop))?;
        Ok(())
    }

    /// The bindings that have not expired at `now` (ms since the Unix epoch). Rows that no
    /// longer parse are skipped.
    pub async fn live_bindings(&self, now: i64) -> Result<Vec<StoredBinding>, StoreError> {
        self.bindings_where(now, None).await
    }

    /// The live bindings of `user` on every node (the location service of a cluster).
    pub async fn user_bindings(
        &self,
        user: &str,
        now: i64,
    ) -> Result<Vec<StoredBinding>, StoreError> {
        self.bindings_where(now, Some(user)).await
    }

    async fn bindings_where(
        &self,
        now: i64,
        user: Option<&str>,
    ) -> Result<Vec<StoredBinding>, StoreError> {
        on_db!(self, p => {
        let rows = sqlx::query(
            "SELECT username, contact, transport, source_host, source_port, expires_at, \
             node_id, node_uri FROM registrations WHERE expires_at > $1 \
             AND ($2 = '' OR username = $2) ORDER BY updated_at",
        )
        .bind(now)
        .bind(user.unwrap_or_default())
        .fetch_all(p)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let transport: String = r.try_get("transport")?;
            let contact: String = r.try_get("contact")?;
            let port: i32 = r.try_get("source_port")?;
            let (Some(kind), Ok(contact), Ok(port)) = (
                TransportKind::from_via_name(&transport),
                Uri::parse(&contact),
                u16::try_from(port),
            ) else {
                continue;
            };
            out.push(StoredBinding {
                user: r.try_get("username")?,
                contact,
                source: Dest::new(kind, r.try_get::<String, _>("source_host")?, port),
                expires_at: r.try_get("expires_at")?,
                node_id: r.try_get("node_id")?,
                node_uri: r.try_get("node_uri")?,
            });
        }
        Ok(out)
        })
    }

    /// Deletes this node's WebSocket bindings: at start-up their connections are gone
    /// (RFC 7118 §5). Returns how many went.
    pub async fn forget_node_flows(&self) -> Result<u64, StoreError> {
        Ok(on_db!(self, p => sqlx::query(
            "DELETE FROM registrations WHERE node_id = $1 AND transport IN ('WS', 'WSS')",
        )
        .bind(&self.node.id)
        .execute(p)
        .await?
        .rows_affected()))
    }

    /// Deletes the bindings that expired before `now` (ms since the Unix epoch).
    pub async fn delete_expired_bindings(&self, now: i64) -> Result<u64, StoreError> {
        Ok(
            on_db!(self, p => sqlx::query("DELETE FROM registrations WHERE expires_at <= $1")
            .bind(now)
            .execute(p)
            .await?
            .rows_affected()),
        )
    }
}
