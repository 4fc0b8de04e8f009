// Node-RED settings for the peer of benches/ingest_gateways.rs: the flow in
// flows.json on 127.0.0.1:$LINLI_PEER_PORT, no editor, and the peer's ingest
// (peer.js) in the global context for the flow's function node.

const path = require("path");
const peer = require("./peer.js");

module.exports = {
  uiHost: "127.0.0.1",
  uiPort: Number(process.env.LINLI_PEER_PORT),
  flowFile: path.join(__dirname, "flows.json"),
  userDir: process.env.LINLI_PEER_DIR,
  httpAdminRoot: false,
  httpNodeRoot: "/",
  credentialSecret: false,
  logging: { console: { level: "warn", metrics: false, audit: false } },
  functionGlobalContext: {
    peer: peer(process.env.LINLI_PEER_REGISTRY, path.join(process.env.LINLI_PEER_DIR, "readings.ndjson")),
  },
};
