/**
 * The kernel demo (what `npm start` runs until the engine exists): a coordinator on
 * host "jm" sends CPU requests round-robin to three workers over the simulated network;
 * workers compute (processor-shared CPU), log each request to their local disk (fsync
 * every second), reply, and upload a snapshot to the blob store every 5 s. Heartbeats
 * detect silent loss. Faults: a slow window on tm-1, a crash and restart of tm-2, a
 * partition between jm and tm-3, and a blob-store outage — every one visible in the trace.
 *
 * Pure: it builds a World and returns a summary; the CLI owns the files.
 */
import type { Connection, EndpointHandler } from "../sim/network";
import { parseDuration, type Ns } from "../sim/time";
import type { TraceLevel } from "../sim/trace/events";
import type { TraceSink } from "../sim/trace/recorder";
import { World, type ClusterSpec } from "../sim/world";

export interface DemoOptions {
  seed: number;
  sink?: TraceSink;
  level?: TraceLevel;
  duration?: string;
}

export interface DemoSummary {
  seed: number;
  virtualNs: Ns;
  requestsSent: number;
  repliesReceived: number;
  requestsLost: number;
  latencyMsP50: number;
  latencyMsP99: number;
  repliesPerWorker: Record<string, number>;
  connectionsLost: number;
  heartbeatTimeouts: number;
  reconnects: number;
  workerLogBytesLost: number;
  snapshotsUploaded: number;
  snapshotsFailed: number;
  kernelEvents: number;
  traceEvents: number;
  /** The kernel's rolling hash of every event: differs between seeds even where traces could not. */
  kernelHash: string;
  fingerprint: string;
}

const WORKERS = ["tm-1", "tm-2", "tm-3"];
const REQUEST_EVERY_NS = parseDuration("5ms", "demo");
const HEARTBEAT_EVERY_NS = parseDuration("1s", "demo");
const HEARTBEAT_TIMEOUT_NS = parseDuration("5s", "demo");
const RECONNECT_AFTER_NS = parseDuration("2s", "demo");
const SNAPSHOT_EVERY_NS = parseDuration("5s", "demo");
const REQUEST_BYTES = 4096;
const REPLY_BYTES = 512;
const SNAPSHOT_BYTES = 8 << 20;

export const DEMO_CLUSTER: ClusterSpec = {
  hosts: [
    { name: "jm", cores: 2 },
    { name: "tm-1", cores: 4 },
    { name: "tm-2", cores: 4 },
    { name: "tm-3", cores: 4, speed: 0.8 },
  ],
  network: { latency: { dist: "lognormal", median: "200us", sigma: 0.4 } },
  disk: { profile: "ssd" },
};

export const DEMO_FAULTS = [
  { trigger: { from: "10s", to: "15s" }, fault: { type: "slow", factor: 0.25 }, target: "tm-1" },
  { trigger: { from: "20s", to: "30s" }, fault: "crash", target: "tm-2" },
  { trigger: { from: "35s", to: "45s" }, fault: "partition", target: "jm|tm-3" },
  { trigger: { from: "50s", to: "53s" }, fault: { type: "blobOutage", mode: "fail" } },
];

interface Request {
  id: number;
  workNs: Ns;
  sentNs: Ns;
}

export function runKernelDemo(options: DemoOptions): DemoSummary {
  const durationNs = parseDuration(options.duration ?? "60s", "--duration");
  const world = new World(DEMO_CLUSTER, {
    seed: options.seed,
    scenario: "kernel-demo",
    config: { duration: options.duration ?? "60s", faults: DEMO_FAULTS },
    trace: { level: options.level ?? "detailed", ...(options.sink ? { sink: options.sink } : {}) },
  });
  world.injectFaults(DEMO_FAULTS);
  const { kernel, trace } = world;
  const workRng = world.rng.child("demo/work");

  const s = {
    requestsSent: 0,
    repliesReceived: 0,
    connectionsLost: 0,
    heartbeatTimeouts: 0,
    reconnects: 0,
    workerLogBytesLost: 0,
    snapshotsUploaded: 0,
    snapshotsFailed: 0,
  };
  const latenciesNs: number[] = [];
  const repliesPerWorker: Record<string, number> = Object.fromEntries(WORKERS.map((w) => [w, 0]));
  const outstanding = new Map<number, { worker: string; req: Request }>();

  // --- workers: one handler per connection, bound to the host's incarnation ---
  const workerEndpoint = (worker: string, conn: () => Connection): EndpointHandler => {
    const host = world.host(worker);
    const disk = world.disk(worker);
    const incarnation = host.incarnation;
    const log = `requests-${incarnation}.log`;
    return {
      onMessage(payload) {
        if (!host.up || host.incarnation !== incarnation) return;
        const msg = payload as { type: string; req?: Request; beat?: number };
        if (msg.type === "heartbeat") {
          conn().b.send({ type: "heartbeat-ack", beat: msg.beat }, 64);
          return;
        }
        const req = msg.req!;
        host.run(req.workNs, () => {
          disk.append(log, 256, req.id, () => {});
          conn().b.send({ type: "reply", req }, REPLY_BYTES);
        }, "request");
      },
      onClose() {},
    };
  };

  // --- coordinator on jm ---
  interface Peer {
    worker: string;
    conn: Connection | undefined;
    lastAckNs: Ns;
    reconnectPending: boolean;
  }
  const peers: Peer[] = WORKERS.map((worker) => ({ worker, conn: undefined, lastAckNs: 0, reconnectPending: false }));

  const dropOutstanding = (worker: string) => {
    for (const [id, o] of [...outstanding]) if (o.worker === worker) outstanding.delete(id);
  };
  const scheduleReconnect = (peer: Peer) => {
    if (peer.reconnectPending) return;
    peer.reconnectPending = true;
    kernel.after(RECONNECT_AFTER_NS, () => {
      peer.reconnectPending = false;
      if (kernel.now < durationNs) connect(peer, true);
    });
  };
  const connect = (peer: Peer, again: boolean) => {
    let conn: Connection | undefined = undefined;
    const atJm: EndpointHandler = {
      onMessage(payload) {
        const msg = payload as { type: string; req?: Request };
        peer.lastAckNs = kernel.now;
        if (msg.type !== "reply") return;
        const o = outstanding.get(msg.req!.id);
        if (o === undefined) return; // a reply after its connection was declared lost
        outstanding.delete(msg.req!.id);
        s.repliesReceived++;
        repliesPerWorker[peer.worker]!++;
        latenciesNs.push(kernel.now - o.req.sentNs);
      },
      onClose(reason) {
        if (peer.conn !== undefined && peer.conn !== conn) return; // a newer connection is up
        if (peer.conn === conn) {
          s.connectionsLost++;
          trace.emit("Note", { text: `jm lost connection to ${peer.worker}: ${reason}`, host: "jm" });
          peer.conn = undefined;
          dropOutstanding(peer.worker);
        }
        // Also after a refused attempt: keep trying until the worker is back.
        scheduleReconnect(peer);
      },
    };
    const c = world.network.connect("jm", peer.worker, "rpc", atJm, workerEndpoint(peer.worker, () => c));
    conn = c;
    if (!c.open) return; // refused: atJm.onClose will retry
    peer.conn = c;
    peer.lastAckNs = kernel.now;
    if (again) {
      s.reconnects++;
      trace.emit("Mark", { name: "demo.reconnected", host: "jm" });
    }
  };
  for (const peer of peers) connect(peer, false);

  let nextId = 0;
  let turn = 0;
  const sendRequest = () => {
    if (kernel.now >= durationNs) return;
    for (let k = 0; k < peers.length; k++) {
      const peer = peers[(turn + k) % peers.length]!;
      if (peer.conn === undefined) continue;
      turn = (turn + k + 1) % peers.length;
      const req: Request = { id: nextId++, workNs: Math.round(workRng.lognormal(Math.log(2e6), 0.6)), sentNs: kernel.now };
      outstanding.set(req.id, { worker: peer.worker, req });
      peer.conn.a.send({ type: "request", req }, REQUEST_BYTES);
      s.requestsSent++;
      break;
    }
    kernel.after(REQUEST_EVERY_NS, sendRequest);
  };
  kernel.after(REQUEST_EVERY_NS, sendRequest);

  let beat = 0;
  const heartbeat = () => {
    beat++;
    for (const peer of peers) {
      if (peer.conn === undefined) continue;
      if (kernel.now - peer.lastAckNs > HEARTBEAT_TIMEOUT_NS) {
        s.heartbeatTimeouts++;
        trace.emit("Mark", { name: "demo.heartbeatTimeout", host: "jm" });
        trace.emit("Note", { text: `jm: heartbeat timeout for ${peer.worker}`, host: "jm" });
        const lost = peer.conn;
        peer.conn = undefined;
        dropOutstanding(peer.worker);
        world.network.reset(lost, "heartbeat timeout");
        scheduleReconnect(peer);
        continue;
      }
      peer.conn.a.send({ type: "heartbeat", beat }, 64);
    }
    trace.emit("Metric", { name: "outstanding", entity: "jm", host: "jm", value: outstanding.size });
    if (kernel.now < durationNs) kernel.after(HEARTBEAT_EVERY_NS, heartbeat);
  };
  kernel.after(HEARTBEAT_EVERY_NS, heartbeat);

  // --- worker housekeeping: fsync the log every second, snapshot every 5 s ---
  for (const worker of WORKERS) {
    const host = world.host(worker);
    const disk = world.disk(worker);
    host.onCrash(() => {
      trace.emit("Note", { text: `${worker} crashed`, host: worker });
    });
    const fsync = () => {
      const log = `requests-${host.incarnation}.log`;
      if (host.up && disk.exists(log)) disk.fsync(log, () => {});
      if (kernel.now < durationNs) kernel.after(HEARTBEAT_EVERY_NS, fsync);
    };
    kernel.after(HEARTBEAT_EVERY_NS, fsync);
    let snapshot = 0;
    const upload = () => {
      if (host.up) {
        const key = `snapshots/${worker}/${snapshot++}`;
        world.blobStore.put(host, key, SNAPSHOT_BYTES, undefined, (err) => {
          if (err === undefined) s.snapshotsUploaded++;
          else s.snapshotsFailed++;
        });
      }
      if (kernel.now < durationNs) kernel.after(SNAPSHOT_EVERY_NS, upload);
    };
    kernel.after(SNAPSHOT_EVERY_NS, upload);
  }

  // Run the workload, then let in-flight work drain (bounded).
  world.run({ untilNs: durationNs + parseDuration("10s", "demo"), maxEvents: 5_000_000 });
  s.workerLogBytesLost = countLostBytes(world);

  latenciesNs.sort((a, b) => a - b);
  const pct = (p: number) => (latenciesNs.length === 0 ? 0 : latenciesNs[Math.min(latenciesNs.length - 1, Math.floor(p * latenciesNs.length))]! / 1e6);
  const virtualNs = kernel.now;
  const fingerprint = world.finish("completed");
  return {
    seed: options.seed,
    virtualNs,
    ...s,
    requestsLost: s.requestsSent - s.repliesReceived - outstanding.size,
    latencyMsP50: round3(pct(0.5)),
    latencyMsP99: round3(pct(0.99)),
    repliesPerWorker,
    kernelEvents: kernel.eventsRun,
    traceEvents: world.trace.written,
    kernelHash: kernel.rollingHash,
    fingerprint,
  };
}

function countLostBytes(world: World): number {
  return world.disks.get("tm-2")!.lostBytes;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
