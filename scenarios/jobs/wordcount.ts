/**
 * wordcount: sentences → flatMap words → keyBy word → sum → sink. The classic; every word
 * counts 1, so even STREAMING's rolling updates form a timing-independent multiset
 * ({word, count: 1..n} per word); BATCH emits one final count per word.
 * Input: generated sentences (words "w<rank>" from a vocabulary, uniform or zipf), or the
 * given `sentences`, spread round-robin over `splits` log partitions (hand-checkable).
 */
import { z } from "zod";
import type { Rng, Zipf } from "../../sim/rng";
import { GeneratorSource, PartitionedLogSource } from "../../engine/api/sources";
import type { SourceSpec } from "../../engine/api/types";
import { applyParallelism, defineJob, optionalRate, parallelism, positiveInt, records, sinkInto, sinkKind, skew } from "./job";

export interface WordCount {
  word: string;
  count: number;
}

export const wordcount = defineJob({
  name: "wordcount",
  description: "sentences -> flatMap words -> keyBy word -> sum(count) -> sink",
  deterministic: true,
  compare: "multiset",
  params: z.object({
    records: records(200),
    wordsPerSentence: positiveInt(5, 1000),
    vocabulary: positiveInt(50),
    skew: skew(0),
    splits: positiveInt(4, 10_000),
    parallelism: parallelism(2),
    ratePerSecond: optionalRate(),
    sink: sinkKind(),
    /** Explicit input sentences (then records/vocabulary/skew are ignored). */
    sentences: z.array(z.string()).optional(),
  }),
  compareOptions: () => ({ keyOf: (r) => (r as WordCount).word, monotone: (r) => (r as WordCount).count }),
  build(env, p) {
    applyParallelism(env, p.parallelism);
    let source: SourceSpec;
    if (p.sentences !== undefined) {
      const data: string[][] = Array.from({ length: p.splits }, () => []);
      p.sentences.forEach((s, i) => data[i % p.splits]!.push(s));
      source = PartitionedLogSource({ partitions: p.splits, data, ...(p.ratePerSecond !== undefined ? { ratePerSecond: p.ratePerSecond } : {}) });
    } else {
      // One sampler per split stream; a replayed stream is a new Rng, so it gets a new one.
      const samplers = new WeakMap<Rng, Zipf>();
      // Words are drawn per position in order; the vocabulary strings are made once.
      const vocabulary = Array.from({ length: p.vocabulary }, (_, i) => `w${i}`);
      const word = (rng: Rng): string => {
        if (p.skew <= 0) return vocabulary[rng.int(0, p.vocabulary)]!;
        let zipf = samplers.get(rng);
        if (zipf === undefined) {
          zipf = rng.zipf(p.vocabulary, p.skew);
          samplers.set(rng, zipf);
        }
        return vocabulary[zipf.sample()]!;
      };
      const sentence = (rng: Rng): string => {
        let s = word(rng);
        for (let i = 1; i < p.wordsPerSentence; i++) s += " " + word(rng);
        return s;
      };
      source = GeneratorSource({
        records: p.records,
        splits: p.splits,
        ...(p.ratePerSecond !== undefined ? { ratePerSecond: p.ratePerSecond } : {}),
        value: (_seq, _key, rng) => sentence(rng),
      });
    }
    const counts = env
      .fromSource<string>(source, "none", "sentences")
      .flatMap<WordCount>((sentence, out) => {
        for (const w of sentence.split(" ")) if (w.length > 0) out.collect({ word: w, count: 1 });
      })
      .keyBy((wc) => wc.word)
      .sum("count");
    sinkInto(counts, p.sink, "counts");
  },
});
