// Load generator worker: real Socket.IO clients (the official socket.io-client)
// speaking PROTOCOL.md over WebSocket. bench/run.py starts several of these
// and merges what they print (one JSON object on stdout).
//
//   node bench/loadgen.mjs '<json config>'
//
// modes:
//   chat  - agents log in, customers join, both sides send at a set rate
//           between start_at and end_at (epoch ms); every message carries its
//           send time and a client_id, so receivers measure latency and the
//           runner finds lost and duplicated messages.
//   idle  - hold `count` customer sockets open (connected, not joined).
//   join  - `count` customers join, spread over `within_ms`.
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const config = JSON.parse(process.argv[2]);
const opts = { transports: ["websocket"], perMessageDeflate: false, reconnection: false, timeout: 60000 };
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

// Visitors come from many addresses: each socket binds a loopback address of
// its own (127.0.0.0/8), from this worker's block, so that the server's
// per-address limits stay on and are never what a run measures.
let addresses = 0;
function localAddress() {
  const n = addresses++;
  return `127.${1 + (config.address_block ?? 0)}.${Math.floor(n / 250) % 256}.${1 + (n % 250)}`;
}

function connect(namespace, auth) {
  return new Promise((resolve, reject) => {
    const socket = io(config.url + namespace, { ...opts, auth, localAddress: localAddress() });
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (err) => reject(err));
  });
}

// Exit only once stdout is flushed: a pipe takes large writes in pieces.
function finish(result) {
  process.stdout.write(JSON.stringify(result), () => process.exit(0));
}

async function inBatches(items, size, fn) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

// The runner paces the chat mode through stdin: one line after the agents are
// in ("go on"), one after every customer joined ({start_at, end_at}), so that
// no worker starts before all are ready, however long the set-up takes.
const stdinLines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function tellAndWait(phase) {
  process.stdout.write(JSON.stringify({ phase }) + "\n");
  const { value } = await stdinLines.next();
  return JSON.parse(value);
}

async function chat() {
  const received = { c2a: [], a2c: [] }; // [client_id, latency_ms]
  const acked = { c2a: [], a2c: [] };
  let errors = 0;
  const record = (direction, message) => {
    const sentAt = Number(message.text.slice(1, message.text.indexOf(" ")));
    if (sentAt && now() <= config.end_at + config.drain_ms) received[direction].push([message.client_id, now() - sentAt]);
  };
  const agents = [];
  let converse = null; // set at the start: begins sending in one conversation
  await inBatches(config.agent_tokens, 20, async (token) => {
    const socket = await connect("/agent", { token });
    const conversations = new Set();
    socket.on("customer:new", (data) => {
      conversations.add(data.conversation.id);
      if (converse) converse(socket, data.conversation.id); // assigned after the start
    });
    socket.on("customer:message", (m) => m.sender === "customer" && record("c2a", m));
    const ack = await socket.emitWithAck("agent:login", {});
    for (const c of ack.conversations) conversations.add(c.id);
    agents.push({ socket, conversations });
  });
  const customers = [];
  await tellAndWait("agents"); // every worker's agents are in
  await inBatches([...Array(config.customers).keys()], 50, async (i) => {
    const socket = await connect("/customer", {});
    socket.on("agent:message", (m) => m.sender === "agent" && record("a2c", m));
    const ack = await socket.emitWithAck("customer:join", { name: `${config.prefix}-${i}` });
    customers.push(socket);
  });
  Object.assign(config, await tellAndWait("customers"));
  const cpuStart = process.cpuUsage();
  await sleep(config.start_at - now());
  let seq = 0;
  const perSide = config.rate_per_conversation / 2; // half each way
  const send = (socket, event, payload, direction) => {
    const client_id = `${config.prefix}-${seq++}`;
    socket.emit(event, { ...payload, text: `t${now()} x`, client_id }, (ack) => {
      if (ack && ack.ok) acked[direction].push(client_id);
      else errors++;
    });
  };
  const timers = [];
  const every = (period, fn) => {
    const start = Math.random() * period; // spread the phases
    timers.push(
      setTimeout(() => {
        fn();
        timers.push(setInterval(fn, period));
      }, start),
    );
  };
  const active = () => now() < config.end_at;
  if (perSide > 0) {
    for (const socket of customers) every(1000 / perSide, () => active() && send(socket, "customer:message", {}, "c2a"));
    converse = (socket, id) =>
      every(1000 / perSide, () => active() && send(socket, "agent:message", { conversation_id: id }, "a2c"));
    for (const agent of agents) for (const id of agent.conversations) converse(agent.socket, id);
  }
  await sleep(config.end_at + config.drain_ms - now());
  timers.forEach(clearInterval);
  const cpu = process.cpuUsage(cpuStart);
  const held = customers.filter((s) => s.connected).length + agents.filter((a) => a.socket.connected).length;
  finish({ received, acked, errors, held, cpu_s: (cpu.user + cpu.system) / 1e6 });
}

async function idle() {
  const sockets = [];
  let failed = 0;
  await inBatches([...Array(config.count).keys()], 100, async () => {
    try {
      sockets.push(await connect("/customer", {}));
    } catch (e) {
      failed++;
    }
  });
  process.stdout.write(JSON.stringify({ held: sockets.length, failed }) + "\n");
  // Hold until the runner has measured, then leave.
  await sleep(config.hold_ms);
  process.exit(0);
}

async function join() {
  const sockets = await Promise.all([...Array(config.count).keys()].map(() => connect("/customer", {})));
  await sleep(config.start_at - now());
  const results = [];
  await Promise.all(
    sockets.map(async (socket, i) => {
      await sleep((config.within_ms * i) / config.count);
      const sent = now();
      const ack = await socket.emitWithAck("customer:join", { name: `${config.prefix}-${i}` });
      results.push({
        ok: ack.ok,
        done_at: now(),
        ms: now() - sent,
        status: ack.ok ? ack.conversation.status : null,
        position: ack.ok ? ack.queue_position : null,
      });
    }),
  );
  finish({ results });
}

({ chat, idle, join })[config.mode]().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err));
  process.exit(1);
});
