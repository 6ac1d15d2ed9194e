// node:test reporter: per test file, the sum of its top-level tests' durations and pass/fail/skip counts, slowest
// first, and each failure as it comes. Used to see which files make `npm test` long (the span column is only
// indicative: node 20 reports a file's events in enqueue order, so a slow file holds back the later ones):
//   node --import tsx --test --test-concurrency=2 --test-timeout=240000 --test-reporter=./test/helpers/file-times-reporter.mjs \
//     --test-reporter-destination=stdout test/unit/*.test.ts test/integration/*.test.ts test/security/*.test.ts test/faults/*.test.ts
export default async function* fileTimes(source) {
  const files = new Map();
  const t0 = Date.now();
  for await (const ev of source) {
    const f = ev.data?.file;
    if (!f || ev.type === "test:enqueue") continue;
    const now = Date.now() - t0;
    let r = files.get(f);
    if (!r) files.set(f, (r = { first: now, last: now, sum: 0, pass: 0, fail: 0, skip: 0 }));
    r.first = Math.min(r.first, now);
    r.last = Math.max(r.last, now);
    if ((ev.type === 'test:pass' || ev.type === 'test:fail') && ev.data.nesting === 0) {
      r.sum += ev.data.details?.duration_ms ?? 0;
      if (ev.data.skip) r.skip++;
      else if (ev.type === 'test:pass') r.pass++;
      else r.fail++;
    }
    if (ev.type === 'test:fail' && ev.data.nesting === 0) yield `FAIL ${f.replace(/.*\/test\//, 'test/')} :: ${ev.data.name}\n`;
  }
  const rows = [...files.entries()].sort((a, b) => b[1].sum - a[1].sum);
  yield `\nfile\tspan_s\tsum_tests_s\tpass\tfail\tskip\tfirst_s\tlast_s\n`;
  for (const [f, r] of rows) {
    yield `${f.replace(/.*\/test\//, 'test/')}\t${((r.last - r.first) / 1000).toFixed(1)}\t${(r.sum / 1000).toFixed(1)}\t${r.pass}\t${r.fail}\t${r.skip}\t${(r.first / 1000).toFixed(1)}\t${(r.last / 1000).toFixed(1)}\n`;
  }
  yield `total wall ${((Date.now() - t0) / 1000).toFixed(1)} s\n`;
}
