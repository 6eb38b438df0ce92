"""The node's files and databases: the home folder, the SQLite log store, the catalogue
store, the blob store and the sign guard. sqlite3 and files only: no trio, no libp2p,
no HTTP. Everything above reads and writes through these modules."""
