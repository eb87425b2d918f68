//! CPIM (RFC 3862). Being written.
