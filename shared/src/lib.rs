//! # sipsimple — the sans-IO core of sipsimple-rs
//!
//! SIP parsing and serialising ([`sip`]), digest authentication ([`auth`]), the registration
//! client and the Session state machine, behind one [`UserAgent`] per account. The crate
//! performs no I/O: no sockets, no threads, no clock reads. It compiles for native targets
//! and for `wasm32-unknown-unknown`.
//!
//! ## The drive loop
//! A shell (the browser client, the gateway, a test) owns the flow and a timer and drives a
//! [`UserAgent`] like this:
//! 1. **mutate**: call a command (`register`, `connect`, `end`), or feed input with
//!    `handle_input(now, bytes)` for each received message or `handle_timeout(now)` when
//!    the timer fires;
//! 2. **drain**: call `poll_output()` until `None`, sending each
//!    [`Output::Transmit`] on the flow and delivering each [`Output::Notification`];
//! 3. **sleep** until `poll_timeout()` or the next input, then go to 1.
//!
//! ```
//! use sipsimple::{AccountConfig, Output, Time, UserAgent};
//! let mut ua = UserAgent::new(AccountConfig::new("alice@example.com", "secret"), 42)
//!     .expect("a valid account id");
//! ua.register(Time::from_millis(0));
//! let Some(Output::Transmit(bytes)) = ua.poll_output() else { panic!("a REGISTER") };
//! assert!(bytes.starts_with(b"REGISTER sip:example.com SIP/2.0\r\n"));
//! assert!(ua.poll_timeout().is_some()); // Timer F
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod account;
pub mod application;
pub mod auth;
pub mod cpim;
pub mod dialog;
pub mod file_selector;
pub mod g711;
pub mod iscomposing;
pub mod mdns;
pub mod msrp;
#[cfg(feature = "native")]
pub mod native;
pub mod notification;
pub mod notification_center;
pub mod offer_answer;
mod registration;
pub mod rfb;
pub mod rng;
pub mod rtp;
pub mod sdp;
mod session;
pub mod session_manager;
pub mod settings;
pub mod sip;
pub mod stream;
pub mod time;
pub mod transaction;
pub mod ua;
pub mod vec_map;

pub use notification::{Event, Notification, Originator, Sender, SessionState};
pub use time::Time;
pub use ua::{AccountConfig, Error, Output, Transport, UserAgent};
