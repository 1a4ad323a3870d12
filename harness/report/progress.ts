import cliProgress from 'cli-progress';
import type { Progress } from '../run/progress.ts';

/** On a terminal: a live bar per property (cli-progress), runs done of total, time, failures. */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  const bars = new cliProgress.MultiBar(
    {
      stream,
      clearOnComplete: false,
      hideCursor: true,
      format: ' {status} {label} [{bar}] {value}/{total} runs | {duration}s | failures: {failures}',
      barsize: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    start(state, property, group, runs) {
      const bar = bars.create(runs, 0, { label: `${state} / ${property} (${group})`.padEnd(60), failures: 0, status: '…' });
      let failures = 0;
      let done = 0;
      return {
        tick(passed) {
          if (!passed) failures++;
          done = Math.min(runs, done + 1);
          bar.update(done, { failures });
        },
        done(result) {
          bar.update(result.ok ? runs : done, { failures, status: result.ok ? '✓' : '✗' });
          bar.stop();
        },
      };
    },
    stop: () => bars.stop(),
  };
}

/** Without a terminal (CI): one line per finished property, and a line for runs over 10 s. */
export function lineProgress(write: (line: string) => void): Progress {
  let finished = 0;
  return {
    start(state, property, group, runs, until) {
      const started = Date.now();
      let done = 0;
      let failures = 0;
      write(`  … ${state} / ${property} (${group}): started, ${until ? `as many runs as its share of the budget holds (${runs} to pass)` : `${runs} run(s)`}`);
      const heartbeat = setInterval(() => write(`  … ${state} / ${property}: ${done}/${runs} runs, ${Math.round((Date.now() - started) / 1000)} s, ${failures} failing`), 10_000);
      heartbeat.unref();
      return {
        tick(passed) {
          done++;
          if (!passed) failures++;
        },
        done(result) {
          clearInterval(heartbeat);
          finished++;
          write(`[${finished}] ${state} / ${property} (${group}): ${result.ok ? 'ok' : 'FAILED'}, ${result.runs} runs in ${result.ms} ms`);
        },
      };
    },
    stop: () => undefined,
  };
}
