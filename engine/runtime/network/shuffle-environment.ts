/**
 * The shuffle layer of one TaskManager (Flink's NettyShuffleEnvironment): its network
 * buffer budget, its result partitions (the partition manager, keyed by partition id),
 * its input gates, and its data connections to peer TaskManagers — one multiplexed
 * connection per producer TM it reads from, like Netty's shared channel.
 *
 * Environments find each other through a per-World registry keyed by host. A host crash
 * kills the environment (its process is gone): every later call on it, its partitions or
 * its gates is a no-op and no callback of it runs again; a restarted TaskManager gets a
 * new environment with an empty partition manager, so requests for partitions it had
 * fail with PartitionNotFound.
 *
 * Invariants: at most one live environment per host; partition ids are unique per
 * environment; the TM's network buffers in use never exceed its budget (asserted in the
 * pool).
 */
import { InputError, InvariantError } from "../../../sim/errors";
import type { EndpointHandler } from "../../../sim/network";
import type { Host } from "../../../sim/host";
import type { Kernel } from "../../../sim/kernel";
import type { World } from "../../../sim/world";
import { NetworkBufferPool } from "./buffer-pool";
import { ClientConnection, ServerConnection, type ServerContext } from "./connections";
import { HybridResultPartition } from "./hybrid-partition";
import { InputGate, type GateContext, type InputGateSpec } from "./input-gate";
import { MAX_SUBPARTITIONS, resolveShuffleParams, type ResolvedShuffleParams, type ShuffleParams } from "./params";
import { PipelinedResultPartition } from "./pipelined-partition";
import type { ManagedPartition, PartitionType, ResultPartitionSpec, ResultPartitionWriter } from "./result-partition";
import { SortMergeResultPartition } from "./sort-merge-partition";

const PARTITION_TYPES: readonly PartitionType[] = ["PIPELINED_BOUNDED", "BLOCKING", "HYBRID_FULL", "HYBRID_SELECTIVE"];

const registry = new WeakMap<World, Map<string, ShuffleEnvironment>>();

/** Answers for a host whose TaskManager process is not running: nothing to say. */
const NOBODY: EndpointHandler = { onMessage() {}, onClose() {} };

export class ShuffleEnvironment implements GateContext, ServerContext {
  readonly kernel: Kernel;
  readonly params: ResolvedShuffleParams;
  readonly bufferPool: NetworkBufferPool;
  /** Bytes this TM put on data connections (headers included, compressed payloads). */
  wireBytesSent = 0;
  private readonly hostRef: Host;
  private readonly incarnation: number;
  private readonly partitions = new Map<string, ManagedPartition>();
  private readonly clients = new Map<string, ClientConnection>();
  private receiverIds = 0;

  constructor(
    readonly world: World,
    readonly host: string,
    params: ShuffleParams,
  ) {
    this.kernel = world.kernel;
    this.hostRef = world.host(host, "shuffle.host");
    if (!this.hostRef.up) throw new InvariantError(`shuffle environment created on crashed host ${host}`);
    this.incarnation = this.hostRef.incarnation;
    this.params = resolveShuffleParams(params);
    let byHost = registry.get(world);
    if (byHost === undefined) {
      byHost = new Map();
      registry.set(world, byHost);
    }
    const existing = byHost.get(host);
    if (existing !== undefined && existing.alive()) throw new InvariantError(`a shuffle environment already runs on host ${host}`);
    byHost.set(host, this);
    this.bufferPool = new NetworkBufferPool(this.kernel, host, this.params.totalBuffers, this.params.bufferSizeBytes);
  }

  /** False once the host crashed (even if it restarted: that is a new TaskManager). */
  alive(): boolean {
    return this.hostRef.up && this.hostRef.incarnation === this.incarnation;
  }

  /** Network buffers of this TM in use now, and the most ever. */
  get buffersInUse(): number {
    return this.bufferPool.used;
  }

  get maxBuffersInUseObserved(): number {
    return this.bufferPool.maxUsedObserved;
  }

  get totalBuffers(): number {
    return this.params.totalBuffers;
  }

  /**
   * Creates and registers a result partition. Throws InsufficientNetworkBuffersError when
   * the TM budget cannot hold its minimum (the task fails, as in Flink).
   */
  createResultPartition(spec: ResultPartitionSpec): ResultPartitionWriter {
    if (!this.alive()) throw new InvariantError(`result partition ${spec.partitionId} created on dead TaskManager ${this.host}`);
    if (typeof spec.partitionId !== "string" || spec.partitionId.length === 0) throw new InputError("partition.partitionId", "must be a non-empty string");
    if (!Number.isSafeInteger(spec.numSubpartitions) || spec.numSubpartitions < 1 || spec.numSubpartitions > MAX_SUBPARTITIONS) {
      throw new InputError(`partition ${spec.partitionId}.numSubpartitions`, `must be an integer in 1..${MAX_SUBPARTITIONS}, got ${spec.numSubpartitions}`);
    }
    if (!PARTITION_TYPES.includes(spec.type)) throw new InputError(`partition ${spec.partitionId}.type`, `unknown partition type "${String(spec.type)}"`);
    if (this.partitions.has(spec.partitionId)) throw new InvariantError(`partition ${spec.partitionId} already exists on ${this.host}`);
    let partition: ManagedPartition & ResultPartitionWriter;
    switch (spec.type) {
      case "PIPELINED_BOUNDED":
        partition = new PipelinedResultPartition(this, spec);
        break;
      case "BLOCKING":
        // Flink's rule (NettyShuffleUtils / ResultPartitionFactory): sort-merge iff the
        // result has at least sort-shuffle.min-parallelism subpartitions, else hash.
        partition = new SortMergeResultPartition(this, spec, spec.numSubpartitions >= this.params.sortShuffleMinParallelism ? "sort-merge" : "hash");
        break;
      case "HYBRID_FULL":
      case "HYBRID_SELECTIVE":
        partition = new HybridResultPartition(this, spec);
        break;
    }
    this.partitions.set(spec.partitionId, partition);
    return partition;
  }

  /**
   * Creates an input gate; channels whose producer runs on this host are local. Throws
   * InsufficientNetworkBuffersError when the exclusive buffers do not fit the budget.
   */
  createInputGate(spec: InputGateSpec): InputGate {
    if (!this.alive()) throw new InvariantError(`input gate ${spec.gateId} created on dead TaskManager ${this.host}`);
    return new InputGate(this, spec);
  }

  /** The scheduler releases a (blocking or hybrid) result: data and files go. False if unknown. */
  releasePartition(partitionId: string): boolean {
    if (!this.alive()) return false;
    const p = this.partitions.get(partitionId);
    if (p === undefined) return false;
    p.release();
    this.partitions.delete(partitionId);
    return true;
  }

  hasPartition(partitionId: string): boolean {
    return this.alive() && this.partitions.has(partitionId);
  }

  partitionIds(): string[] {
    return this.alive() ? [...this.partitions.keys()] : [];
  }

  // ---- ShuffleContext / GateContext / ServerContext ----

  mark(name: string): void {
    this.world.trace.emit("Mark", { name, host: this.host });
  }

  unregisterPartition(partition: ManagedPartition): void {
    if (this.partitions.get(partition.partitionId) === partition) this.partitions.delete(partition.partitionId);
  }

  lookupPartition(partitionId: string): ManagedPartition | undefined {
    return this.alive() ? this.partitions.get(partitionId) : undefined;
  }

  nextReceiverId(): number {
    return this.receiverIds++;
  }

  countWireBytes(bytes: number): void {
    this.wireBytesSent += bytes;
  }

  /** The data connection to a producer TM, opened on first use. */
  clientFor(peer: string): ClientConnection {
    const existing = this.clients.get(peer);
    if (existing !== undefined && !existing.closed) return existing;
    const client = new ClientConnection(this, peer, (c) => {
      if (this.clients.get(peer) === c) this.clients.delete(peer);
    });
    this.clients.set(peer, client);
    const peerEnv = registry.get(this.world)?.get(peer);
    const server = peerEnv !== undefined && peerEnv.alive() ? new ServerConnection(peerEnv, this.host) : undefined;
    const conn = this.world.network.connect(this.host, peer, `shuffle ${this.host}→${peer}`, client, server ?? NOBODY);
    client.bind(conn.a);
    server?.bind(conn.b);
    // The host is up but runs no TaskManager: the connection is refused by an orderly close.
    if (server === undefined && conn.open) this.kernel.after(0, () => conn.b.close());
    return client;
  }
}
