// createReloader: the parts of a SIGHUP reload in order, each outcome logged, a failing part
// keeping its setting without stopping the others, and reloads taking turns (a SIGHUP during a
// reload runs exactly one more after it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReloader, ReloadError } from '../../src/cli/reload.js';
import { logLines } from '../helpers/log-lines.js';
import { until } from '../helpers/points.js';

test('reload: each part logs what changed; a failing part says why and the others still run', async () => {
  const logs = logLines();
  const reload = createReloader(
    [
      { name: 'first', reload: async () => '1 new' },
      {
        name: 'broken',
        reload: async () => {
          throw new ReloadError('bad line 3');
        },
      },
      { name: 'last', reload: async () => 'unchanged' },
    ],
    logs.log,
  );
  await reload();
  assert.deepEqual(logs.lines, [
    'Reload: first: 1 new',
    'Reload: broken FAILED, keeping the old setting: bad line 3 [POLYMUR_ERR_RELOAD]',
    'Reload: last: unchanged',
    'Reload complete; 1 of 3 parts kept their old setting',
  ]);
});

test('reload: SIGHUPs during a reload run one more after it, not one each, and never two at once', async () => {
  const logs = logLines();
  let runs = 0;
  let running = 0;
  let release: () => void = () => undefined;
  const reload = createReloader(
    [
      {
        name: 'slow',
        async reload() {
          runs++;
          running++;
          assert.equal(running, 1, 'two reloads at once');
          await new Promise<void>((resolve) => (release = resolve));
          running--;
          return `run ${runs}`;
        },
      },
    ],
    logs.log,
  );
  const first = reload();
  const during = [reload(), reload(), reload()];
  release();
  await first;
  await until('the one more reload started', () => runs === 2, 5_000);
  release();
  await Promise.all(during);
  assert.equal(runs, 2);
  assert.deepEqual(
    logs.lines.filter((l) => l.startsWith('Reload: slow')),
    ['Reload: slow: run 1', 'Reload: slow: run 2'],
  );
});
