//! SDP (RFC 8866). Being written.
