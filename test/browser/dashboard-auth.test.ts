/**
 * The dashboard behind tokens, in chromium: the page asks for a token, a viewer reads but cannot
 * cancel, the owner cancels with the page's button. A real in-process coordinator (no workers,
 * so the sweep stays cancellable) with the same token check as `trellis coordinator --tokens`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { Coordinator } from '../../coordinator/coordinator.js';
import { LocalStore } from '../../coordinator/store/local.js';
import { LocalBus } from '../../coordinator/bus/local.js';
import { StaticTokens } from '../../coordinator/auth/tokens.js';
import { httpAuthorizer } from '../../coordinator/auth/guard.js';
import { startHttpServer, type HttpHandle } from '../../coordinator/http/server.js';
import { createLogger } from '../../shared/log.js';
import { launchBrowser, SCREENSHOTS, type Browser } from '../../bench/browser.js';

declare const document: { querySelector(selector: string): { textContent: string | null } | null };

const SPEC = JSON.stringify({
  apiVersion: 'trellis/v1',
  kind: 'Sweep',
  name: 'owned-sweep',
  trial: { runtime: 'command', command: ['true'], objective: { metric: 'score', mode: 'max' } },
  search: { algorithm: 'random', seed: 1, space: { x: { uniform: [0, 1] } } },
  budget: { trials: 3, concurrency: 1 },
});

describe('the dashboard behind tokens, in chromium', () => {
  let dir: string;
  let coordinator: Coordinator;
  let http: HttpHandle;
  let browser: Browser;
  let page: Page;
  let id = '';
  const tokens = new StaticTokens();
  const ann = tokens.issue('ann', 'submitter');
  const vic = tokens.issue('vic', 'viewer');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-ui-auth-'));
    const log = createLogger('test', 'warn');
    coordinator = new Coordinator({ store: new LocalStore(join(dir, 'store')), bus: new LocalBus(), log });
    await coordinator.start();
    http = await startHttpServer(coordinator, '127.0.0.1:0', log, { authorize: httpAuthorizer(tokens) });
    id = (await coordinator.submit(SPEC, undefined, { owner: 'ann' })).experiment.id;
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.setDefaultTimeout(60_000);
  });

  after(async () => {
    await browser?.close();
    await http?.close();
    await coordinator?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const signIn = async (token: string): Promise<void> => {
    await page.goto(`${http.url}#/exp/${id}`);
    await page.waitForSelector('body[data-ready="signin"] form[data-page="signin"]');
    await page.fill('form[data-page="signin"] input[name="token"]', token);
    await page.click('form[data-page="signin"] button[type="submit"]');
    await page.waitForSelector('body[data-complete="1"] [data-page="sweep"]');
  };

  it('asks for a token, and a viewer reads but cannot cancel', async () => {
    await page.goto(`${http.url}#/exp/${id}`);
    await page.waitForSelector('body[data-ready="signin"]');
    await page.fill('form[data-page="signin"] input[name="token"]', 'trellis_wrong');
    await page.click('form[data-page="signin"] button[type="submit"]');
    await page.waitForFunction(() =>
      /unknown|invalid|token/i.test(document.querySelector('form .error')?.textContent ?? ''),
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'signin.png') });

    await signIn(vic);
    await page.waitForFunction(() =>
      (document.querySelector('[data-role="session"]')?.textContent ?? '').includes('vic'),
    );
    const button = page.locator('[data-role="cancel"] button');
    await button.waitFor({ state: 'visible' });
    assert.equal(await button.isDisabled(), true, "a viewer's cancel button is disabled");
    assert.match((await page.locator('[data-role="cancel"] .hint').textContent()) ?? '', /cannot cancel/);
    assert.notEqual((await coordinator.get(id)).status, 'cancelled');
    await page.click('[data-role="session"] button');
    await page.waitForSelector('body[data-ready="signin"]');
  });

  it('lets the owner cancel with the page button, and the page shows it', async () => {
    await signIn(ann);
    const button = page.locator('[data-role="cancel"] button');
    await button.waitFor({ state: 'visible' });
    await page.waitForFunction(
      () => !(document.querySelector('[data-role="cancel"] button') as unknown as { disabled: boolean }).disabled,
    );
    await button.click();
    assert.equal(await button.textContent(), 'confirm cancel', 'one click only arms it');
    assert.notEqual((await coordinator.get(id)).status, 'cancelled');
    await button.click();
    await page.waitForFunction(() => document.querySelector('.summary h2 .badge')?.textContent === 'cancelled');
    assert.equal((await coordinator.get(id)).status, 'cancelled');
  });
});
