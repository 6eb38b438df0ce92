"""`fabnode`, the command line (node.cli.main). A command table names each command's
module, imported only when that command runs; command modules use node.ops,
node.store and the node's HTTP client (node.cli.client), never the server or libp2p."""
