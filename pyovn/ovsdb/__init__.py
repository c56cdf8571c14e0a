"""RFC 7047 OVSDB: data model, engine, storage, server and client. Knows nothing of OVN."""
