// A separate process that edits one name's record through updateRecord, as polymur-keys' record
// commands do: `node record-editor.js STORE NAME PREFIX` adds PREFIX to the name's allowed prefixes.
// Tests race several of these against polymur-keys to show that no edit undoes another.
import { openKeyStore } from '../../src/keys/open-store.js';
import { updateRecord } from '../../src/keys/update-record.js';

const [url, name, prefix] = process.argv.slice(2);
if (url === undefined || name === undefined || prefix === undefined) throw new Error('usage: record-editor STORE NAME PREFIX');
const store = openKeyStore(url);
try {
  await updateRecord(store, name, (current) => {
    if (current === undefined) throw new Error(`no record ${name}`);
    return { ...current, allow: [...(current.allow ?? []), prefix] };
  });
} finally {
  await store.close();
}
