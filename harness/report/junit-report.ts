import { formatCounterexample } from './console-report.ts';
import type { StateReport, VerifyReport } from '../verify/verify-report.ts';

/** `junit.xml`: one test suite per state, one test case per property, for CI systems. */
export function formatJUnitReport(report: VerifyReport): string {
  const rehearsal: StateReport[] = report.rehearsal ? [{ name: `rehearsal-${report.rehearsal.state}`, story: 'deploy rehearsal at scale', expect: 'converge', migration: 'not-run', properties: report.rehearsal.properties }] : [];
  const states = [...report.states, ...rehearsal];
  const suites = states.map((state) => {
    const cases = state.properties.map((property) => {
      const name = `${property.name} (${property.group})`;
      const open = `    <testcase classname="${xml(`constraint-harness.${state.name}`)}" name="${xml(name)}" time="${(property.ms / 1000).toFixed(3)}"`;
      if (property.ok) return `${open}/>`;
      const text = property.counterexample ? formatCounterexample(property.counterexample).join('\n') : 'failed';
      const message = property.counterexample ? `expected ${property.counterexample.expected}, actual ${property.counterexample.actual}` : 'failed';
      return `${open}>\n      <failure message="${xml(message)}" type="counterexample">${xml(`seed ${property.seed}, path ${property.path ?? ''}\n${text}`)}</failure>\n    </testcase>`;
    });
    const skipped = (state.skipped ?? []).map((reason) => `    <testcase classname="${xml(`constraint-harness.${state.name}`)}" name="${xml(reason.split(':')[0]!)}"><skipped message="${xml(reason)}"/></testcase>`);
    const failures = state.properties.filter((p) => !p.ok).length;
    const time = state.properties.reduce((sum, p) => sum + p.ms, 0) / 1000;
    return `  <testsuite name="${xml(state.name)}" tests="${cases.length + skipped.length}" failures="${failures}" skipped="${skipped.length}" time="${time.toFixed(3)}">\n${[...cases, ...skipped].join('\n')}\n  </testsuite>`;
  });
  const tests = states.reduce((sum, s) => sum + s.properties.length + (s.skipped?.length ?? 0), 0);
  const failures = states.reduce((sum, s) => sum + s.properties.filter((p) => !p.ok).length, 0);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="constraint-harness" tests="${tests}" failures="${failures}">\n${suites.join('\n')}\n</testsuites>\n`;
}

function xml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!).replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, '');
}
