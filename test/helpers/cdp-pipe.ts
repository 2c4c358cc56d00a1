/**
 * @fileoverview A minimal Chrome DevTools Protocol client over `--remote-debugging-pipe`
 * (Node 20 has no WebSocket client): headless Chromium reads NUL-terminated JSON commands on
 * its fd 3 and writes NUL-terminated replies and events on its fd 4. Enough to open a page,
 * evaluate script in it and send real mouse events.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

/** The Chromium binary, if one is installed (Debian's `chromium` package). */
export function findChromium(): string | undefined {
  return ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));
}

type Message = { id?: number; result?: Record<string, unknown>; error?: { message: string }; method?: string; params?: Record<string, unknown>; sessionId?: string };

export class Browser {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  private readonly listeners: ((m: Message) => void)[] = [];
  private constructor(private readonly child: ChildProcess, private readonly profile: string, private readonly input: Writable, output: Readable) {
    let buffered = Buffer.alloc(0);
    output.on('data', (d: Buffer) => {
      buffered = Buffer.concat([buffered, d]);
      for (let nul = buffered.indexOf(0); nul >= 0; nul = buffered.indexOf(0)) {
        const m = JSON.parse(buffered.subarray(0, nul).toString('utf8')) as Message;
        buffered = buffered.subarray(nul + 1);
        if (m.id !== undefined) {
          const p = this.pending.get(m.id);
          this.pending.delete(m.id);
          if (m.error) p?.reject(new Error(m.error.message)); else p?.resolve(m.result ?? {});
        } else for (const l of this.listeners) l(m);
      }
    });
  }

  static launch(binary: string): Browser {
    const profile = mkdtempSync(join(tmpdir(), 'dtrace-ts-chromium-'));
    const child = spawn(binary, [
      '--headless=new', '--remote-debugging-pipe', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--no-default-browser-check', '--disable-extensions', `--user-data-dir=${profile}`, 'about:blank',
    // Its own process group: its helper processes (renderer, utility, crashpad) go with it at close.
    // TMPDIR inside the profile: Chromium's own temporary directories go when the profile goes.
    ], { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, TMPDIR: profile } });
    return new Browser(child, profile, child.stdio[3] as Writable, child.stdio[4] as Readable);
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.input.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    });
  }

  /** Opens url in a new page; returns the session id its commands go to. */
  async open(url: string): Promise<string> {
    const { targetId } = await this.send('Target.createTarget', { url }) as { targetId: string };
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true }) as { sessionId: string };
    return sessionId;
  }

  /** The value of a JavaScript expression in the page (awaited if it is a promise). */
  async evaluate<T>(sessionId: string, expression: string): Promise<T> {
    const r = await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, sessionId) as { result: { value: T }; exceptionDetails?: { text: string } };
    if (r.exceptionDetails) throw new Error(`page script failed: ${r.exceptionDetails.text}`);
    return r.result.value;
  }

  async mouse(sessionId: string, type: 'mouseMoved' | 'mousePressed' | 'mouseReleased', x: number, y: number): Promise<void> {
    await this.send('Input.dispatchMouseEvent', { type, x, y, button: type === 'mouseMoved' ? 'none' : 'left', clickCount: type === 'mouseMoved' ? 0 : 1 }, sessionId);
  }

  async close(): Promise<void> {
    try { await Promise.race([this.send('Browser.close'), new Promise((r) => setTimeout(r, 3000))]); } catch { /* gone */ }
    // The profile is removed once Chromium (and its helpers, which share its fds) are gone.
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGKILL');
      await exited;
    }
    // Helpers outlive the browser process for a moment and still write into the profile
    // (CI saw ENOTEMPTY): end the whole group, then remove it.
    try { process.kill(-this.child.pid!, 'SIGKILL'); } catch { /* the group is gone */ }
    rmSync(this.profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 250 });
  }
}
