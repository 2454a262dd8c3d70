/** The KEDA/HPA replica formula of shared/autoscale.ts on hand-made cases (the real-sweep series is in test/integration/autoscale.test.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { desiredReplicas, simulateScaling } from '../../shared/autoscale.js';

const config = { gpusPerWorker: 1, minReplicas: 0, maxReplicas: 8 };

describe('autoscale formula', () => {
  it('wakes from zero on the first demanded slot and returns to zero when none is', () => {
    assert.equal(desiredReplicas(1, 0, config), 1);
    assert.equal(desiredReplicas(0, 3, config), 0);
  });

  it('asks for ceil(slots / gpusPerWorker), clamped to the bounds', () => {
    assert.equal(desiredReplicas(5, 1, { ...config, gpusPerWorker: 2 }), 3);
    assert.equal(desiredReplicas(20, 1, config), 8);
    assert.equal(desiredReplicas(0, 3, { ...config, minReplicas: 1 }), 1);
  });

  it('keeps the current count within the 10% tolerance', () => {
    assert.equal(desiredReplicas(10, 11, { ...config, maxReplicas: 20 }), 11);
    assert.equal(desiredReplicas(10, 12, { ...config, maxReplicas: 20 }), 10);
  });

  it('holds scale-down at the largest recommendation of the stabilization window', () => {
    const series = [
      { time: 0, value: 4 },
      { time: 1000, value: 1 },
      { time: 2000, value: 1 },
      { time: 5000, value: 1 },
    ];
    assert.deepEqual(simulateScaling(series, config), [4, 1, 1, 1]);
    assert.deepEqual(simulateScaling(series, { ...config, stabilizationMs: 2500 }), [4, 4, 4, 1]);
  });
});
