//! The user agent's side of the seed's `DesktopSharingStream`: RFB (RFC 6143) carried over
//! an MSRP stream (`m=application ... TCP/MSRP`, `a=accept-types:application/x-rfb`), as
//! python-sipsimple carries it.
//!
//! Who shares its desktop is said by python-sipsimple's `a=rfbsetup` attribute: `passive`
//! for the end running the VNC server (the seed's "server handler"), `active` for the viewer
//! (the RFB client; the default when an m-line has none). The core only moves bytes: once
//! the stream's MSRP connection is up (the same [`MsrpOutput`](super::MsrpOutput) plumbing
//! as chat and files) it says [`DesktopOutput::Started`] with our [`DesktopRole`]; each piece
//! of RFB read by the shell's handler goes in with [`UserAgent::push_desktop_data`] and
//! leaves as one MSRP message (`application/x-rfb`), in order; each received piece comes
//! out as [`DesktopOutput::Data`], in order. The handler (a VNC server's socket, a local
//! port a VNC viewer connects to, a canvas) is the shell's; when it fails the shell says so
//! with [`UserAgent::desktop_handler_failed`].

use super::{Error, UserAgent};
use crate::stream::DESKTOP_SHARING;
use crate::time::Time;

/// Which end of the RFB connection we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DesktopRole {
    /// We share our desktop: our handler talks to a VNC server (`a=rfbsetup:passive`).
    Server,
    /// We view the peer's desktop: our handler is (or talks to) a VNC viewer
    /// (`a=rfbsetup:active`).
    Viewer,
}

impl DesktopRole {
    /// The `a=rfbsetup` value of this role.
    pub fn rfbsetup(self) -> &'static str {
        match self {
            DesktopRole::Server => crate::stream::DesktopSharingStream::SERVER,
            DesktopRole::Viewer => crate::stream::DesktopSharingStream::VIEWER,
        }
    }

    /// The role an `a=rfbsetup` value names (`active` when absent).
    pub fn from_rfbsetup(value: Option<&str>) -> Option<DesktopRole> {
        match value.map(str::trim) {
            None => Some(DesktopRole::Viewer),
            Some(v) if v.eq_ignore_ascii_case(DesktopRole::Viewer.rfbsetup()) => {
                Some(DesktopRole::Viewer)
            }
            Some(v) if v.eq_ignore_ascii_case(DesktopRole::Server.rfbsetup()) => {
                Some(DesktopRole::Server)
            }
            Some(_) => None,
        }
    }

    /// The other end's role.
    pub fn peer(self) -> DesktopRole {
        match self {
            DesktopRole::Server => DesktopRole::Viewer,
            DesktopRole::Viewer => DesktopRole::Server,
        }
    }
}

/// Something the shell's desktop-sharing handler must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DesktopOutput {
    /// The desktop-sharing stream on m-line `stream` of `session` is carried (its MSRP
    /// connection is up): start the handler for `role` (connect to the VNC server, or
    /// take the viewer's connection) and push what it reads.
    Started {
        /// The session.
        session: u64,
        /// The stream's m-line.
        stream: usize,
        /// Our end of the RFB connection.
        role: DesktopRole,
    },
    /// RFB bytes from the peer, in order: write them to the handler.
    Data {
        /// The session.
        session: u64,
        /// The stream's m-line.
        stream: usize,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// The stream ended (or its MSRP connection closed): stop the handler.
    Ended {
        /// The session.
        session: u64,
        /// The stream's m-line.
        stream: usize,
    },
}

impl UserAgent {
    /// Calls `target` offering a desktop-sharing stream in which we take `role`
    /// ([`DesktopRole::Server`]: we share our desktop; [`DesktopRole::Viewer`]: we ask to
    /// see theirs). Returns the session id.
    pub fn connect_desktop(
        &mut self,
        now: Time,
        target: &str,
        role: DesktopRole,
    ) -> Result<u64, Error> {
        self.ctx.desktop_offer = Some(role);
        let r = self.connect_to(now, target, None, &[DESKTOP_SHARING]);
        self.ctx.desktop_offer = None;
        r
    }

    /// Proposes to the established session `id` a desktop-sharing stream in which we take
    /// `role` (ESTABLISHED → PROPOSING, as [`add_chat`](Self::add_chat)).
    pub fn add_desktop(&mut self, now: Time, id: u64, role: DesktopRole) -> Result<(), Error> {
        self.with_session(now, id, |s, ctx| s.add_desktop(ctx, now, role))
    }

    /// The seed's `remove_*` for desktop sharing: disables the stream by re-INVITE.
    pub fn remove_desktop(&mut self, now: Time, id: u64) -> Result<(), Error> {
        self.remove_stream(now, id, DESKTOP_SHARING)
    }

    /// The next action for a desktop-sharing handler, until `None`. Drain it after
    /// [`poll_msrp`](Self::poll_msrp).
    pub fn poll_desktop(&mut self) -> Option<DesktopOutput> {
        self.ctx.desktop_out.pop_front()
    }

    /// Our role in the desktop-sharing stream on m-line `stream` of `session`, from our
    /// SDP in effect (`a=rfbsetup`); for an incoming session not yet answered, the role
    /// the offer leaves us.
    pub fn desktop_role(&self, session: u64, stream: usize) -> Option<DesktopRole> {
        self.session(session)?.desktop_role(stream)
    }

    /// RFB bytes the handler read (from the VNC server or viewer): they go to the peer as
    /// one MSRP message (`application/x-rfb`) after those pushed before. Pushed before the
    /// MSRP connection is up, they wait for it.
    pub fn push_desktop_data(
        &mut self,
        now: Time,
        session: u64,
        stream: usize,
        bytes: &[u8],
    ) -> Result<(), Error> {
        self.with_session(now, session, |s, ctx| {
            s.push_desktop_data(ctx, now, stream, bytes)
        })
    }

    /// The handler of the desktop-sharing stream failed (the VNC server could not be
    /// reached or closed, the viewer went away): `DesktopSharingHandlerDidFail` with
    /// `context` (`connecting`, `reading`, `sending`) and `reason`, then
    /// `MediaStreamDidFail`; the stream's MSRP connection closes and the stream is removed
    /// (the session ends if it was its only stream).
    pub fn desktop_handler_failed(
        &mut self,
        now: Time,
        session: u64,
        stream: usize,
        context: &str,
        reason: &str,
    ) -> Result<(), Error> {
        self.with_session(now, session, |s, ctx| {
            s.desktop_handler_failed(ctx, now, stream, context, reason)
        })
    }
}
