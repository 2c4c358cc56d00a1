/**
 * @fileoverview detachLinks without the kernel: a few links over perf events are closed in
 * place (closeAsync, as before); after a signal, from RELEASE_IN_BACKGROUND_FROM on, their
 * descriptors go to a helper process and the tracer's own are closed at once; other links,
 * and every link of a run that ended by itself, are closed in place.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, fstatSync, openSync } from 'node:fs';
import type { Link } from '../bpf/link.js';
import { detachLinks, RELEASE_IN_BACKGROUND_FROM } from './detach.js';

/** A link owning real descriptors (of /dev/null): `how` records how it was closed. */
function fakeLink(nfds: number, how: string[]): Link {
  const fds = Array.from({ length: nfds }, () => openSync('/dev/null', 'r'));
  return {
    describe: `fake ${nfds}`, fd: fds[0]!, fds,
    close() { how.push(`close ${nfds}`); for (const fd of fds) closeSync(fd); },
    async closeAsync() { how.push(`closeAsync ${nfds}`); for (const fd of fds) closeSync(fd); },
  };
}

const isOpen = (fd: number): boolean => { try { fstatSync(fd); return true; } catch { return false; } };

test('a few links over perf events are closed in place', async () => {
  const how: string[] = [];
  const links = [...Array.from({ length: RELEASE_IN_BACKGROUND_FROM - 1 }, () => fakeLink(2, how)), fakeLink(1, how)];
  await detachLinks(links, { inBackground: true });
  assert.deepEqual(how.sort(), [...Array(RELEASE_IN_BACKGROUND_FROM - 1).fill('closeAsync 2'), 'closeAsync 1'].sort());
  assert.ok(links.every((l) => l.fds.every((fd) => !isOpen(fd))));
});

test('many links over perf events go to a helper: the tracer closes its own descriptors at once', async () => {
  const how: string[] = [];
  const perf = Array.from({ length: RELEASE_IN_BACKGROUND_FROM + 5 }, () => fakeLink(2, how));
  const other = fakeLink(1, how);
  await detachLinks([...perf, other], { inBackground: true });
  assert.deepEqual(how.filter((h) => h === 'close 2').length, perf.length);
  assert.deepEqual(how.filter((h) => h !== 'close 2'), ['closeAsync 1']);
  assert.ok([...perf, other].every((l) => l.fds.every((fd) => !isOpen(fd))));
});

test('a run that ended by itself releases every link in place, however many', async () => {
  const how: string[] = [];
  const perf = Array.from({ length: RELEASE_IN_BACKGROUND_FROM + 5 }, () => fakeLink(2, how));
  await detachLinks(perf, { inBackground: false });
  assert.deepEqual(how, Array(perf.length).fill('closeAsync 2'));
});
