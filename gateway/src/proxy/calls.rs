//! The call log the proxy keeps of INVITE dialogs (RFC 3261 §12, §13, §15): a call starts
//! with an initial INVITE, is answered by a 2xx or fails with the final response that went
//! upstream, and ends with the BYE of its dialog. Pure bookkeeping: the events go to the
//! store, which stamps them with the wall clock.

use crate::sipmsg::name_addr;
use sipsimple::sip::Message;
use sipsimple::transaction::TransactionId;
use sipsimple::Time;
use std::collections::HashMap;
use std::time::Duration;

/// Answered calls whose BYE never came are forgotten after this long.
pub const DIALOG_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// Calls followed at most; past that the oldest answered ones are forgotten.
const MAX_DIALOGS: usize = 100_000;

/// What the store records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEvent {
    /// An initial INVITE arrived.
    Started {
        /// The log entry's id.
        id: String,
        /// The dialog's Call-ID.
        call_id: String,
        /// The From AOR.
        caller: String,
        /// The Request-URI's AOR as received.
        callee: String,
    },
    /// A 2xx went upstream.
    Answered {
        /// The log entry's id.
        id: String,
        /// The 2xx code.
        code: u16,
    },
    /// A final non-2xx went upstream: the call ends unanswered.
    Failed {
        /// The log entry's id.
        id: String,
        /// The final code.
        code: u16,
    },
    /// The dialog's BYE went through.
    Ended {
        /// The log entry's id.
        id: String,
    },
}

/// The calls in progress.
#[derive(Debug, Default)]
pub struct Calls {
    /// Log id of each initial INVITE's server transaction until its final response.
    by_server: HashMap<TransactionId, String>,
    /// Log id and answer time of each answered call, by Call-ID, until its BYE.
    dialogs: HashMap<String, (String, Time)>,
}

fn aor(uri: &sipsimple::sip::Uri) -> String {
    match &uri.user {
        Some(u) => format!("{u}@{}", uri.host),
        None => uri.host.clone(),
    }
}

impl Calls {
    /// An initial INVITE (no To tag) on server transaction `server`; `id` names its entry.
    pub fn start(&mut self, server: TransactionId, msg: &Message, id: String) -> Option<CallEvent> {
        if msg.method() != Some("INVITE") {
            return None;
        }
        let to = name_addr(msg, "To")?;
        if to.tag().is_some() || self.by_server.contains_key(&server) {
            return None;
        }
        let caller = aor(&name_addr(msg, "From")?.uri);
        let callee = aor(msg.request_uri()?);
        self.by_server.insert(server, id.clone());
        Some(CallEvent::Started {
            id,
            call_id: msg.header("Call-ID").unwrap_or_default().to_string(),
            caller,
            callee,
        })
    }

    /// A final response `code` went upstream on `server`.
    pub fn final_response(
        &mut self,
        now: Time,
        server: TransactionId,
        code: u16,
        call_id: &str,
    ) -> Option<CallEvent> {
        let id = self.by_server.remove(&server)?;
        if (200..300).contains(&code) {
            if self.dialogs.len() >= MAX_DIALOGS {
                let oldest = self
                    .dialogs
                    .iter()
                    .min_by_key(|(_, (_, t))| *t)
                    .map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    self.dialogs.remove(&k);
                }
            }
            self.dialogs.insert(call_id.to_string(), (id.clone(), now));
            Some(CallEvent::Answered { id, code })
        } else {
            Some(CallEvent::Failed { id, code })
        }
    }

    /// Answered calls whose BYE has not come yet.
    pub fn active(&self) -> usize {
        self.dialogs.len()
    }

    /// A BYE of dialog `call_id` went through.
    pub fn bye(&mut self, call_id: &str) -> Option<CallEvent> {
        let (id, _) = self.dialogs.remove(call_id)?;
        Some(CallEvent::Ended { id })
    }

    /// Forgets answered calls older than [`DIALOG_LIFETIME`].
    pub fn expire(&mut self, now: Time) {
        self.dialogs
            .retain(|_, (_, at)| now.saturating_since(*at) < DIALOG_LIFETIME);
    }
}
