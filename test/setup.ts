// Loaded into every test file's process by test/run.mjs (--import): programs a test started and did
// not stop, because it failed first, are killed once the file's tests end, so the file can exit.
import { after } from 'node:test';
import { killRunningPrograms } from '../harness/programs.js';

after(killRunningPrograms);
