// Checking a ledger receipt in the browser, with no trust in the page's
// server beyond the public key: the same steps, byte for byte, as the
// host's `Receipt::verify` and `linli ledger verify` (host/src/caps/ledger):
//
// 1. the entry's body hashes to its leaf: SHA-256(0x00 || body), and the
//    kind and time the receipt shows are the ones in that body;
// 2. the proof is for this entry and for the checkpoint's tree size;
// 3. the inclusion proof (RFC 9162 §2.1.3.2) leads from the leaf to the
//    checkpoint's root, interior nodes being SHA-256(0x01 || left || right);
// 4. the checkpoint names the key (first 8 bytes of SHA-256 of the raw
//    public key) and its Ed25519 signature covers the checkpoint body
//    "<origin>\n<size>\n<root, base64>\n<timestamp_ms>\n".

const encoder = new TextEncoder();

function hexToBytes(hex) {
  if (typeof hex !== "string" || hex.length % 2 || /[^0-9a-f]/i.test(hex)) throw new Error("not hex");
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i += 1) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

function bytesToHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

const leafHash = (body) => sha256(concat(Uint8Array.of(0), encoder.encode(body)));
const nodeHash = (left, right) => sha256(concat(Uint8Array.of(1), left, right));

function equal(a, b) {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** RFC 9162's inclusion check, as `merkle::verify_inclusion` does it. */
async function rootFromProof(leaf, proof) {
  const { leaf_index: index, tree_size: size, path } = proof;
  if (!(index < size)) throw new Error("the entry is outside the proof's tree");
  let position = index;
  let last = size - 1;
  let hash = leaf;
  for (const siblingHex of path) {
    if (last === 0) throw new Error("the proof is longer than the tree is high");
    const sibling = hexToBytes(siblingHex);
    if (position % 2 === 1 || position === last) {
      hash = await nodeHash(sibling, hash);
      while (position % 2 === 0 && position !== 0) {
        position = Math.floor(position / 2);
        last = Math.floor(last / 2);
      }
    } else {
      hash = await nodeHash(hash, sibling);
    }
    position = Math.floor(position / 2);
    last = Math.floor(last / 2);
  }
  if (last !== 0) throw new Error("the proof is shorter than the tree is high");
  return hash;
}

function checkpointBody({ origin, size, root, timestamp_ms: timestamp }) {
  if (!origin || /[\u0000-\u001f\u007f-\u009f]/.test(origin)) throw new Error("the checkpoint's origin is malformed");
  const rootBase64 = btoa(String.fromCharCode(...hexToBytes(root)));
  return `${origin}\n${size}\n${rootBase64}\n${timestamp}\n`;
}

/**
 * Checks `receipt` against the hex Ed25519 `publicKey`. Answers
 * `{ok: true}` or `{ok: false, step, reason}` naming the first step that failed.
 */
export async function verifyReceipt(receipt, publicKey) {
  let step = "format";
  try {
    const { entry, proof, checkpoint: signed } = receipt;
    const checkpoint = signed.checkpoint;
    step = "leaf";
    const leaf = await leafHash(entry.body);
    if (bytesToHex(leaf) !== entry.leaf_hash) throw new Error("the entry's body does not hash to its leaf hash");
    // Only the body is hashed: what else the receipt shows of the entry must be the body's.
    step = "bound";
    const hashed = JSON.parse(entry.body);
    if (hashed.kind !== entry.kind) throw new Error("the entry's kind is not what its hashed body says");
    if (hashed.at !== entry.at) throw new Error("the entry's time is not what its hashed body says");
    step = "proof";
    if (proof.leaf_index !== entry.index) throw new Error(`the proof is for entry ${proof.leaf_index}, not ${entry.index}`);
    if (proof.tree_size !== checkpoint.size)
      throw new Error(`the proof is for tree size ${proof.tree_size}, the checkpoint for ${checkpoint.size}`);
    const root = await rootFromProof(leaf, proof);
    if (!equal(root, hexToBytes(checkpoint.root))) throw new Error("the inclusion proof does not lead to the checkpoint's root");
    step = "signature";
    const keyBytes = hexToBytes(publicKey);
    const keyId = bytesToHex((await sha256(keyBytes)).slice(0, 8));
    if (signed.key_id !== keyId) throw new Error(`signed by key ${signed.key_id}, not by this host's key ${keyId}`);
    const key = await crypto.subtle.importKey("raw", keyBytes, { name: "Ed25519" }, false, ["verify"]);
    const good = await crypto.subtle.verify(
      { name: "Ed25519" },
      key,
      hexToBytes(signed.signature),
      encoder.encode(checkpointBody(checkpoint)),
    );
    if (!good) throw new Error("the checkpoint's signature does not match its contents");
    return { ok: true };
  } catch (error) {
    return { ok: false, step, reason: error.message };
  }
}
