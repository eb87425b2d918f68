//! file-selector (RFC 5547). Being written.
