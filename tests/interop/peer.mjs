// A js-libp2p gossipsub peer for the interop test (tests/test_interop_js.py): a node that
// we did not write, pinned by package-lock.json, so that our Python side is checked against
// an independent implementation of tcp + noise + yamux + identify + gossipsub.
//
// Usage:
//   node --import ./polyfill.mjs peer.mjs --topic T [--dial MULTIADDR ...]
//
// It listens on 127.0.0.1 (a free tcp port), subscribes to T, dials each --dial address,
// and speaks one JSON object per line:
//
// stdout (events)
//   {"event":"ready","peer_id":P,"addrs":[...]}                 once listening and subscribed
//   {"event":"dialed","addr":A,"peer_id":P}                     after each --dial succeeds
//   {"event":"subscription","peer_id":P,"topic":T,"subscribed":bool}
//   {"event":"mesh","topic":T,"peers":[P...]}                   after every graft or prune
//   {"event":"message","topic":T,"from":P,"propagation_source":P,"msg_id_hex":H,"data_hex":D}
//   {"event":"published","msg_id_hex":H,"recipients":[P...]}    after a publish command
//   {"event":"error","error":S}                                  a command or dial failed
//   {"event":"stopped"}                                          last line before exit 0
// stdin (commands)
//   {"cmd":"publish","data_hex":D}
//   {"cmd":"quit"}                   (stdin EOF, SIGTERM and SIGINT do the same)
//
// The message id is SHA-256 of the message data (raw 32 bytes), as on the Python side;
// `msg_id_hex` is the id gossipsub itself computed and cached. Messages are signed and
// signatures required (StrictSign). gossipsub forwards what it receives to its other mesh
// peers, which is what makes this peer a relay between two Python hosts.

import { createHash } from 'node:crypto'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub, StrictSign } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'

const HEX = /^(?:[0-9a-f]{2})*$/

function emit (event) {
  process.stdout.write(JSON.stringify(event) + '\n')
}

function sha256 (data) {
  return new Uint8Array(createHash('sha256').update(data).digest())
}

function toHex (bytes) {
  return Buffer.from(bytes).toString('hex')
}

function fail (error) {
  emit({ event: 'error', error: String(error?.stack ?? error) })
  process.exit(1)
}

process.on('unhandledRejection', fail)
process.on('uncaughtException', fail)

const { values: args } = parseArgs({
  options: {
    topic: { type: 'string' },
    dial: { type: 'string', multiple: true, default: [] }
  },
  strict: true
})
if (args.topic == null || args.topic === '') {
  fail(new Error('usage: peer.mjs --topic T [--dial MULTIADDR ...]'))
}
const topic = args.topic

const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: {
    identify: identify(),
    pubsub: gossipsub({
      globalSignaturePolicy: StrictSign,
      msgIdFn: (msg) => sha256(msg.data ?? new Uint8Array()),
      msgIdToStrFn: toHex,
      emitSelf: false,
      // the test publishes only after the mesh has formed; this only keeps a premature
      // publish from throwing, the test then fails on its own deadline with the events
      allowPublishToZeroTopicPeers: true
    })
  }
})
const pubsub = node.services.pubsub

pubsub.addEventListener('gossipsub:message', ({ detail }) => {
  const { msg, msgId, propagationSource } = detail
  if (msg.topic !== topic) return
  emit({
    event: 'message',
    topic: msg.topic,
    from: msg.type === 'signed' ? msg.from.toString() : null,
    propagation_source: propagationSource.toString(),
    msg_id_hex: msgId,
    data_hex: toHex(msg.data)
  })
})
pubsub.addEventListener('subscription-change', ({ detail }) => {
  for (const sub of detail.subscriptions) {
    emit({
      event: 'subscription',
      peer_id: detail.peerId.toString(),
      topic: sub.topic,
      subscribed: sub.subscribe
    })
  }
})
const emitMesh = ({ detail }) => {
  if (detail.topic !== topic) return
  emit({ event: 'mesh', topic, peers: pubsub.getMeshPeers(topic).map(String) })
}
pubsub.addEventListener('gossipsub:graft', emitMesh)
pubsub.addEventListener('gossipsub:prune', emitMesh)

pubsub.subscribe(topic)
emit({
  event: 'ready',
  peer_id: node.peerId.toString(),
  addrs: node.getMultiaddrs().map(String)
})

for (const addr of args.dial) {
  try {
    const conn = await node.dial(multiaddr(addr))
    emit({ event: 'dialed', addr, peer_id: conn.remotePeer.toString() })
  } catch (err) {
    fail(new Error(`dial ${addr} failed: ${err}`))
  }
}

let stopping = null
function stop () {
  stopping ??= (async () => {
    await node.stop()
    emit({ event: 'stopped' })
    process.exit(0)
  })()
  return stopping
}

async function publish (dataHex) {
  if (typeof dataHex !== 'string' || !HEX.test(dataHex)) {
    throw new Error('publish: data_hex must be lowercase hex')
  }
  const data = Buffer.from(dataHex, 'hex')
  const { recipients } = await pubsub.publish(topic, data)
  emit({
    event: 'published',
    msg_id_hex: toHex(sha256(data)),
    recipients: recipients.map(String)
  })
}

async function handle (line) {
  if (line.trim() === '') return
  let cmd
  try {
    cmd = JSON.parse(line)
  } catch (err) {
    emit({ event: 'error', error: `bad command line: ${err.message}` })
    return
  }
  try {
    if (cmd.cmd === 'publish') await publish(cmd.data_hex)
    else if (cmd.cmd === 'quit') await stop()
    else emit({ event: 'error', error: `unknown command: ${JSON.stringify(cmd.cmd)}` })
  } catch (err) {
    emit({ event: 'error', error: String(err?.message ?? err) })
  }
}

// Commands run one at a time, in the order they arrive.
let queue = Promise.resolve()
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
lines.on('line', (line) => { queue = queue.then(() => handle(line)) })
lines.on('close', () => { queue = queue.then(stop) })
process.on('SIGTERM', () => { void stop() })
process.on('SIGINT', () => { void stop() })
