-- Registrations that outlive a connection (RFC 3261 §10.3): bindings made over UDP, TCP or
-- TLS survive a restart until they expire. WebSocket bindings are tied to their connection
-- (RFC 7118 §5) and are not stored. Times are milliseconds since the Unix epoch.
-- Plain SQL that PostgreSQL accepts as well (BIGINT, ON CONFLICT, no AUTOINCREMENT).
CREATE TABLE IF NOT EXISTS registrations (
    username     TEXT    NOT NULL,
    contact      TEXT    NOT NULL,
    transport    TEXT    NOT NULL,
    source_host  TEXT    NOT NULL,
    source_port  INTEGER NOT NULL,
    expires_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    PRIMARY KEY (username, contact)
);
CREATE INDEX IF NOT EXISTS registrations_expires_at ON registrations (expires_at);

-- The call log the proxy writes for INVITE dialogs: who called whom, when the call started,
-- was answered and ended, and the final response code that went back to the caller.
CREATE TABLE IF NOT EXISTS calls (
    id           TEXT    NOT NULL PRIMARY KEY,
    call_id      TEXT    NOT NULL,
    caller       TEXT    NOT NULL,
    callee       TEXT    NOT NULL,
    started_at   BIGINT  NOT NULL,
    answered_at  BIGINT,
    ended_at     BIGINT,
    final_code   INTEGER
);
CREATE INDEX IF NOT EXISTS calls_started_at ON calls (started_at);
