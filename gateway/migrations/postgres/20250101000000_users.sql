-- Users of the embedded registrar (RFC 3261 §10.3, §22). Passwords are never stored:
-- only HA1 = H(user:realm:password) for MD5 and SHA-256 (RFC 7616 §3.4.2, RFC 8760).
-- PostgreSQL's copy of the SQLite migration: `created_at` is BIGINT (seconds since the Unix
-- epoch), as SQLite's INTEGER is 64-bit and PostgreSQL's is 32-bit.
CREATE TABLE IF NOT EXISTS users (
    name        TEXT    NOT NULL PRIMARY KEY,
    realm       TEXT    NOT NULL,
    ha1_md5     TEXT    NOT NULL,
    ha1_sha256  TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);
