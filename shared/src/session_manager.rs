//! The seed's `SessionManager`: the sessions of every user agent (one per account) in one
//! place, and one drive loop for them all.
//!
//! It owns the [`UserAgent`]s the shell adds and stays sans-IO: the shell feeds each one its
//! flow's input ([`SessionManager::user_agent_mut`]), fires timers with
//! [`SessionManager::handle_timeout`] and drains [`SessionManager::poll_output`], which
//! names the account each output belongs to (the flow it goes out on).

use crate::session::Session;
use crate::time::Time;
use crate::ua::{Output, UserAgent};
use crate::SessionState;

/// A session in the manager's list, with the account it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct ActiveSession<'a> {
    /// The account's SIP id.
    pub account: &'a str,
    /// The session.
    pub session: &'a Session,
}

/// The seed's `SessionManager`.
#[derive(Debug, Default)]
pub struct SessionManager {
    agents: Vec<UserAgent>,
    /// The user agent `poll_output` drains now.
    next: usize,
}

impl SessionManager {
    /// A manager without user agents.
    pub fn new() -> SessionManager {
        SessionManager::default()
    }

    /// Adds a user agent; it replaces (and returns) one of the same account.
    pub fn add_user_agent(&mut self, ua: UserAgent) -> Option<UserAgent> {
        let old = self.remove_user_agent(ua.account_id());
        self.agents.push(ua);
        old
    }

    /// Removes the user agent of `account`.
    pub fn remove_user_agent(&mut self, account: &str) -> Option<UserAgent> {
        let i = self.agents.iter().position(|u| u.account_id() == account)?;
        Some(self.agents.remove(i))
    }

    /// The user agent of `account`.
    pub fn user_agent(&self, account: &str) -> Option<&UserAgent> {
        self.agents.iter().find(|u| u.account_id() == account)
    }

    /// The user agent of `account`, to command it or feed it input.
    pub fn user_agent_mut(&mut self, account: &str) -> Option<&mut UserAgent> {
        self.agents.iter_mut().find(|u| u.account_id() == account)
    }

    /// Every user agent, in the order added.
    pub fn user_agents(&self) -> impl Iterator<Item = &UserAgent> {
        self.agents.iter()
    }

    /// The seed's `sessions`: every session not in NULL or TERMINATED, across user agents.
    pub fn sessions(&self) -> Vec<ActiveSession<'_>> {
        self.agents
            .iter()
            .flat_map(|ua| {
                ua.session_ids().into_iter().filter_map(move |id| {
                    let session = ua.session(id)?;
                    let active = !matches!(
                        session.state(),
                        SessionState::Null | SessionState::Terminated
                    );
                    active.then_some(ActiveSession {
                        account: ua.account_id(),
                        session,
                    })
                })
            })
            .collect()
    }

    /// Ends every active session (the application stops).
    pub fn end_all(&mut self, now: Time) {
        for ua in &mut self.agents {
            for id in ua.session_ids() {
                // Sessions already ending refuse; that is fine.
                let _ = ua.end(now, id);
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    pub fn poll_timeout(&self) -> Option<Time> {
        self.agents.iter().filter_map(UserAgent::poll_timeout).min()
    }

    /// Fires the timers due at `now` in every user agent.
    pub fn handle_timeout(&mut self, now: Time) {
        for ua in &mut self.agents {
            if ua.poll_timeout().is_some_and(|t| t <= now) {
                ua.handle_timeout(now);
            }
        }
    }

    /// The next output of any user agent, with the account it belongs to. One user
    /// agent's outputs come out together, in order, before the next one's.
    pub fn poll_output(&mut self) -> Option<(String, Output)> {
        let n = self.agents.len();
        for k in 0..n {
            let i = (self.next + k) % n;
            if let Some(out) = self.agents[i].poll_output() {
                self.next = i;
                return Some((self.agents[i].account_id().to_string(), out));
            }
        }
        None
    }
}
