-- Several gateways sharing one database (docs/scaling.md): each registration records the node
-- that holds it and the SIP URI that node is reached on, so that another node can hand a
-- request for a WebSocket user (whose flow lives on one node only, RFC 7118 §5) to the
-- node holding the connection. '' for a gateway on its own. Additive: existing rows keep
-- working as the lone node's.
ALTER TABLE registrations ADD COLUMN node_id TEXT NOT NULL DEFAULT '';
ALTER TABLE registrations ADD COLUMN node_uri TEXT NOT NULL DEFAULT '';
