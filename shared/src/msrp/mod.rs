//! MSRP (RFC 4975). Being written.
