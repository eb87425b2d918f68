//! is-composing (RFC 3994). Being written.
