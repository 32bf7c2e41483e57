/**
 * A disjoint-set forest over dense indices 0..n-1, for region building (pipelined edges
 * glue their endpoints). Union by size with path halving.
 *
 * Invariant: the partition it represents does not depend on the order of unions; only the
 * representative does, so callers must never expose representatives — they renumber
 * components by their smallest member (`components()`).
 */
export class DisjointSet {
  private readonly parent: number[];
  private readonly size: number[];

  constructor(n: number) {
    this.parent = Array.from({ length: n }, (_, i) => i);
    this.size = new Array<number>(n).fill(1);
  }

  find(x: number): number {
    const parent = this.parent;
    while (parent[x]! !== x) {
      parent[x] = parent[parent[x]!]!;
      x = parent[x]!;
    }
    return x;
  }

  union(a: number, b: number): void {
    let ra = this.find(a);
    let rb = this.find(b);
    if (ra === rb) return;
    if (this.size[ra]! < this.size[rb]!) [ra, rb] = [rb, ra];
    this.parent[rb] = ra;
    this.size[ra]! += this.size[rb]!;
  }

  /**
   * The components, each as its members in ascending order, ordered by their smallest
   * member: a canonical form independent of union order.
   */
  components(): number[][] {
    const byRoot = new Map<number, number[]>();
    const out: number[][] = [];
    for (let i = 0; i < this.parent.length; i++) {
      const root = this.find(i);
      let members = byRoot.get(root);
      if (members === undefined) {
        members = [];
        byRoot.set(root, members);
        out.push(members);
      }
      members.push(i);
    }
    return out;
  }
}
