/**
 * Bytes written per subpartition of a result partition (Flink's ResultPartitionBytes): what
 * a finished producer reports, so the adaptive batch scheduler can size its consumers and
 * the slow-task detector can weigh their execution times. A broadcast element counts in
 * every subpartition (each holds a copy). Counting is one array add per record, no
 * allocation after the first unicast record.
 */
export class SubpartitionBytes {
  private unicast: Float64Array | undefined;
  private toEvery = 0;

  constructor(private readonly numSubpartitions: number) {}

  /** `subpartition` −1: a broadcast element. */
  add(subpartition: number, bytes: number): void {
    if (subpartition < 0) this.toEvery += bytes;
    else (this.unicast ??= new Float64Array(this.numSubpartitions))[subpartition]! += bytes;
  }

  snapshot(): number[] {
    const out = new Array<number>(this.numSubpartitions).fill(this.toEvery);
    const unicast = this.unicast;
    if (unicast !== undefined) for (let i = 0; i < out.length; i++) out[i]! += unicast[i]!;
    return out;
  }
}
