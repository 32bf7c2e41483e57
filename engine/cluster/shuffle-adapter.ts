/**
 * A TaskManager's shuffle environment as the task deployment uses it: turns deployment
 * descriptors into result partition writers and input gates (engine/runtime/network).
 */
import type { World } from "../../sim/world";
import type { InputGate } from "../runtime/network/input-gate";
import type { ShuffleParams } from "../runtime/network/params";
import type { ResultPartitionWriter } from "../runtime/network/result-partition";
import { ShuffleEnvironment } from "../runtime/network/shuffle-environment";
import type { InputGateDeployment, OutputDeployment } from "./deployment";

export class ShuffleAdapter {
  readonly environment: ShuffleEnvironment;

  constructor(world: World, host: string, params: ShuffleParams) {
    this.environment = new ShuffleEnvironment(world, host, params);
  }

  createResultPartition(o: OutputDeployment, owner: string): ResultPartitionWriter {
    return this.environment.createResultPartition({
      partitionId: o.partitionId,
      numSubpartitions: o.numSubpartitions,
      type: o.partitionType,
      broadcast: o.partitioner === "broadcast",
      owner,
    });
  }

  createInputGate(g: InputGateDeployment, owner: string): InputGate {
    return this.environment.createInputGate({
      gateId: g.gateId,
      owner,
      channels: g.channels.map((c) => ({ partitionId: c.partitionId, subpartition: c.subpartition, producerHost: c.producerHost })),
      blocking: g.partitionType !== "PIPELINED_BOUNDED",
    });
  }
}
