/** `--metrics-listen HOST:PORT`: parsed once, bad values refused with the flag named (CLI exit 2). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { parseListen } from '../../shared/metrics-http.js';
import { InvalidArgumentError } from '../../shared/errors.js';
import { trellis } from '../helpers/cli.js';

describe('--metrics-listen', () => {
  it('parses host and port, IPv6 in brackets', () => {
    assert.deepEqual(parseListen('0.0.0.0:9464'), { host: '0.0.0.0', port: 9464 });
    assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
    assert.deepEqual(parseListen('metrics.local:80'), { host: 'metrics.local', port: 80 });
  });

  it('refuses what is not HOST:PORT, naming the flag', () => {
    for (const bad of ['9464', ':9464', '0.0.0.0:', '0.0.0.0:70000', 'a b:1', '::1:9464']) {
      assert.throws(
        () => parseListen(bad),
        (err: unknown) =>
          err instanceof InvalidArgumentError && /--metrics-listen: .* is not HOST:PORT/.test(err.message),
        bad,
      );
    }
  });

  it('is a usage error (exit 2) on the command line', async () => {
    for (const command of [['coordinator'], ['worker'], ['run', 'examples/quickstart.yaml']]) {
      const { code, stderr } = await trellis([...command, '--metrics-listen', 'nope'], tmpdir());
      assert.equal(code, 2, stderr);
      assert.match(stderr, /--metrics-listen: "nope" is not HOST:PORT/);
    }
  });
});
