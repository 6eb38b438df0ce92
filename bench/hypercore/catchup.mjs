// Hypercore catch-up over TCP: the reference bench.network compares its catch-up with.
//
//   node catchup.mjs --blocks N --block-bytes S [--dir DIR]
//
// A server process creates a Hypercore on disk (DIR/server, Hypercore's own RocksDB
// storage) holding N blocks of S random bytes, appended in 1,000-block batches, and
// listens on 127.0.0.1. A client process opens a fresh, empty core on disk
// (DIR/client) with the server's key, connects over a real TCP loopback socket and
// downloads blocks 0..N; its clock starts before it connects and stops when every
// block is verified (its Merkle proof against the signed tree) and stored: Hypercore
// marks a block downloaded only after its storage batch is flushed. The last line
// on stdout is one JSON object:
//   {"hypercore": version, "blocks": N, "block_bytes": S, "bytes": N*S,
//    "seconds": s, "entries_per_s": N/s, "bytes_per_s": ..., "append_per_s": ...,
//    "first_block_s": s to the first block stored, "client_cpu_s": the client's CPU
//    time (user + system) over the same span}
// Without --dir a temporary folder is used and removed. The two sides are child
// processes of this one (`serve` and `fetch` modes, JSON lines on stdout); both are
// stopped whatever happens. Progress and errors go to stderr; exit status 1 on error.

import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, mkdirSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import Hypercore from 'hypercore'

const BATCH = 1000
const HERE = fileURLToPath(new URL('.', import.meta.url))
const VERSION = JSON.parse(readFileSync(join(HERE, 'node_modules/hypercore/package.json'))).version

function options (argv) {
  const out = { mode: 'run', blocks: 100000, blockBytes: 251, dir: null, key: null, port: 0 }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === 'serve' || a === 'fetch') out.mode = a
    else if (a === '--blocks') out.blocks = positive(argv[++i], a)
    else if (a === '--block-bytes') out.blockBytes = positive(argv[++i], a)
    else if (a === '--dir') out.dir = argv[++i]
    else if (a === '--key') out.key = argv[++i]
    else if (a === '--port') out.port = positive(argv[++i], a)
    else throw new Error(`unknown argument ${a}`)
  }
  return out
}

function positive (text, name) {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} wants a positive integer, got ${text}`)
  return n
}

function say (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

// -- server: N blocks on disk, replicated to whoever connects ------------------------------

async function serve (o) {
  const core = new Hypercore(join(o.dir, 'server'))
  await core.ready()
  const began = performance.now()
  for (let i = 0; i < o.blocks; i += BATCH) {
    const batch = []
    for (let j = i; j < Math.min(o.blocks, i + BATCH); j++) batch.push(randomBytes(o.blockBytes))
    await core.append(batch)
  }
  const appendS = (performance.now() - began) / 1000
  const server = net.createServer((socket) => {
    socket.setNoDelay(true)
    const stream = core.replicate(false)
    socket.on('error', () => {}) // a client that goes is no fault of the server
    socket.on('close', () => stream.destroy())
    socket.pipe(stream).pipe(socket)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  say({ ready: { key: core.key.toString('hex'), port: server.address().port, length: core.length, append_s: appendS } })
  // stays until its parent closes stdin (or kills it)
  process.stdin.resume()
  process.stdin.on('end', async () => {
    server.close()
    await core.close()
    process.exit(0)
  })
}

// -- client: an empty core on disk downloads all N blocks over TCP -----------------------

async function fetch (o) {
  const core = new Hypercore(join(o.dir, 'client'), Buffer.from(o.key, 'hex'))
  await core.ready()
  let firstS = null
  const cpu = process.cpuUsage()
  const began = performance.now()
  core.once('download', () => { firstS = (performance.now() - began) / 1000 })
  const socket = net.connect(o.port, '127.0.0.1')
  socket.setNoDelay(true)
  const lost = new Promise((resolve, reject) => {
    socket.on('error', reject)
    socket.on('close', () => reject(new Error('the server closed the connection')))
  })
  socket.pipe(core.replicate(true)).pipe(socket)
  await Promise.race([core.download({ start: 0, end: o.blocks }).done(), lost])
  const seconds = (performance.now() - began) / 1000
  const used = process.cpuUsage(cpu)
  if (core.contiguousLength < o.blocks) throw new Error(`holds ${core.contiguousLength} of ${o.blocks} blocks`)
  const cpuS = (used.user + used.system) / 1e6
  say({ fetched: { seconds, cpu_s: cpuS, first_block_s: firstS, length: core.contiguousLength } })
  socket.destroy()
  await core.close()
  process.exit(0)
}

// -- the run: both sides as child processes ----------------------------------------------

function child (args) {
  const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), ...args], {
    stdio: ['pipe', 'pipe', 'inherit']
  })
  const lines = createInterface({ input: proc.stdout })
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal)))
  const first = new Promise((resolve, reject) => {
    lines.once('line', (line) => resolve(JSON.parse(line)))
    exited.then((code) => reject(new Error(`${args[0]} exited (${code}) before answering`)))
  })
  return { proc, first, exited }
}

async function run (o) {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'fabbench-hypercore-'))
  mkdirSync(dir, { recursive: true })
  const common = ['--blocks', String(o.blocks), '--block-bytes', String(o.blockBytes), '--dir', dir]
  const server = child(['serve', ...common])
  let client = null
  try {
    const { ready } = await server.first
    client = child(['fetch', ...common, '--key', ready.key, '--port', String(ready.port)])
    const { fetched } = await client.first
    await client.exited
    const bytes = o.blocks * o.blockBytes
    say({
      hypercore: VERSION,
      blocks: o.blocks,
      block_bytes: o.blockBytes,
      bytes,
      seconds: fetched.seconds,
      entries_per_s: o.blocks / fetched.seconds,
      bytes_per_s: bytes / fetched.seconds,
      first_block_s: fetched.first_block_s,
      client_cpu_s: fetched.cpu_s,
      append_per_s: o.blocks / ready.append_s
    })
  } finally {
    if (client !== null && client.proc.exitCode === null) client.proc.kill()
    server.proc.stdin.end()
    const timer = setTimeout(() => server.proc.kill('SIGKILL'), 10000)
    await server.exited
    clearTimeout(timer)
    if (o.dir === null) rmSync(dir, { recursive: true, force: true })
  }
}

const o = options(process.argv.slice(2))
const modes = { run, serve, fetch }
if (o.mode !== 'run' && (o.dir === null || (o.mode === 'fetch' && o.key === null))) {
  throw new Error(`${o.mode} wants --dir${o.mode === 'fetch' ? ', --key and --port' : ''}`)
}
modes[o.mode](o).catch((err) => {
  process.stderr.write(`catchup.mjs ${o.mode}: ${err.stack ?? err}\n`)
  process.exit(1)
})
