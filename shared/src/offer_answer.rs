//! Offer/answer (RFC 3264). Being written.
