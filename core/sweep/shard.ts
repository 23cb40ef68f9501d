// Sharding a sweep across machines: `--shard I/N` runs runs I, I+N, I+2N, ... of the run matrix
// (0-based, round-robin by run index, so every shard gets a similar mix of small and large runs)
// and writes to <out>/shard-I-of-N/. `--shard auto/N` takes I from the scheduler:
//   Slurm job arrays:          SLURM_ARRAY_TASK_ID (minus SLURM_ARRAY_TASK_MIN, so --array=1-N works too)
//   Kubernetes Indexed Jobs:   JOB_COMPLETION_INDEX
// `runner.ts merge <out>/shard-* --out <out>` combines the shards' outputs (core/sweep/merge.ts).

export interface Shard { index: number; count: number; /** where the index came from */ from: string }

export const MAX_SHARDS = 100000;

/** Parses `I/N` or `auto/N`; returns a message (for a usage error) when it cannot. */
export function parseShard(spec: string, env: NodeJS.ProcessEnv = process.env): Shard | string {
  const m = /^\s*(auto|\d+)\s*\/\s*(\d+)\s*$/.exec(spec);
  if (!m) return `--shard must be I/N (0 <= I < N) or auto/N (got ${JSON.stringify(spec)})`;
  const count = Number(m[2]);
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_SHARDS) return `--shard ${spec}: N must be an integer from 1 to ${MAX_SHARDS}`;
  let index: number, from: string;
  if (m[1] === 'auto') {
    const slurm = env.SLURM_ARRAY_TASK_ID, k8s = env.JOB_COMPLETION_INDEX;
    if (slurm !== undefined && slurm !== '') {
      const min = env.SLURM_ARRAY_TASK_MIN !== undefined && env.SLURM_ARRAY_TASK_MIN !== '' ? Number(env.SLURM_ARRAY_TASK_MIN) : 0;
      index = Number(slurm) - min;
      from = `SLURM_ARRAY_TASK_ID=${slurm}${min ? ` - SLURM_ARRAY_TASK_MIN=${min}` : ''}`;
      const tasks = env.SLURM_ARRAY_TASK_COUNT;
      if (tasks !== undefined && tasks !== '' && Number(tasks) !== count) {
        return `--shard auto/${count}, but the Slurm array has ${tasks} tasks (SLURM_ARRAY_TASK_COUNT): make them agree`;
      }
    } else if (k8s !== undefined && k8s !== '') {
      index = Number(k8s);
      from = `JOB_COMPLETION_INDEX=${k8s}`;
    } else {
      return '--shard auto/N needs SLURM_ARRAY_TASK_ID (a Slurm job array) or JOB_COMPLETION_INDEX (a Kubernetes Indexed Job); neither is set';
    }
    if (!Number.isSafeInteger(index) || index < 0) return `--shard auto/${count}: ${from} is not a shard index`;
  } else {
    index = Number(m[1]);
    from = '--shard';
  }
  if (index >= count) return `--shard: shard index ${index} is out of range for ${count} shard${count === 1 ? '' : 's'} (0 to ${count - 1}${from !== '--shard' ? `; from ${from}` : ''})`;
  return { index, count, from };
}

/** The runs of one shard: 1-based run index i belongs to shard (i - 1) mod N. */
export function shardRuns<T extends { index: number }>(runs: T[], s: Pick<Shard, 'index' | 'count'>): T[] {
  return runs.filter((r) => (r.index - 1) % s.count === s.index);
}

export const shardDirName = (s: Pick<Shard, 'index' | 'count'>) => `shard-${s.index}-of-${s.count}`;
