import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { freePort, ManagedProcess } from '@switchboard/testkit';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

describe('switchboard-cdr-web', () => {
  it('serves at once, saying the query is unavailable until NATS answers, and stops on SIGTERM', async () => {
    const [port, deadNats] = [await freePort(), await freePort()];
    const web = ManagedProcess.node('cdr-web', MAIN, ['--listen', `127.0.0.1:${port}`], {
      SWITCHBOARD_NATS_URL: `nats://127.0.0.1:${deadNats}`, SWITCHBOARD_CDR_WEB_LISTEN: '',
    });
    try {
      const listening = await web.waitForEvent('listening');
      assert.equal(listening.url, `http://127.0.0.1:${port}/`);
      const page = await fetch(`http://127.0.0.1:${port}/?trunk=acme`);
      assert.equal(page.status, 503);
      assert.match(await page.text(), /the CDR query is unavailable: not connected to NATS/);
      assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
      assert.equal(await web.stop('SIGTERM'), 0);
    } finally {
      await web.stop('SIGKILL');
    }
  });

  it('serves /livez and /readyz on SWITCHBOARD_HEALTH_PORT: live, but not ready until NATS answers', async () => {
    const [port, healthPort, deadNats] = [await freePort(), await freePort(), await freePort()];
    const web = ManagedProcess.node('cdr-web', MAIN, ['--listen', `127.0.0.1:${port}`], {
      SWITCHBOARD_NATS_URL: `nats://127.0.0.1:${deadNats}`, SWITCHBOARD_CDR_WEB_LISTEN: '',
      SWITCHBOARD_HEALTH_PORT: String(healthPort), SWITCHBOARD_HEALTH_HOST: '127.0.0.1',
    });
    try {
      await web.waitForEvent('listening');
      const live = await fetch(`http://127.0.0.1:${healthPort}/livez`);
      assert.deepEqual([live.status, (await live.text()).trim()], [200, 'ok']);
      const ready = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
      assert.deepEqual([ready.status, (await ready.text()).trim()], [503, 'starting']);
      assert.equal(await web.stop('SIGTERM'), 0);
    } finally {
      await web.stop('SIGKILL');
    }
  });

  it('refuses a bad --listen with its usage', async () => {
    const web = ManagedProcess.node('cdr-web', MAIN, ['--listen', 'nowhere']);
    assert.equal(await web.exited, 2);
    assert.match(web.output(), /--listen: expected host:port/);
    assert.match(web.output(), /usage: switchboard-cdr-web/);
  });
});
