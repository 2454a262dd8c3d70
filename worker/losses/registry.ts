/**
 * Binds each loss implementation to its catalogue entry (shared/catalogue/losses.ts) by name.
 * A catalogue entry without an implementation, or an implementation the catalogue does not
 * know, fails at load (and in test/unit/losses.test.ts).
 */
import { LOSS_CATALOGUE } from '../../shared/catalogue/losses.js';
import { lossDescriptor } from '../../shared/catalogue/loss-params.js';
import type { LossDefinition, LossImplementation } from './base.js';

import { aldrLoss } from './aldr.js';
import { anyLoss } from './anyloss.js';
import { biasLoss } from './bias.js';
import { ceLoss } from './ce.js';
import { compsumLoss } from './compsum.js';
import { fairregLoss } from './fairreg.js';
import { focalLoss } from './focal.js';
import { gceLoss } from './gce.js';
import { gflLoss } from './gfl.js';
import { groupdroLoss } from './groupdro.js';
import { ldrLoss } from './ldr.js';
import { msLoss } from './ms.js';
import { mwLoss } from './mw.js';
import { prototripletLoss } from './prototriplet.js';
import { rdpoLoss } from './rdpo.js';
import { tcmLoss } from './tcm.js';
import { worstgroupLoss } from './worstgroup.js';
import { zLoss } from './zloss.js';

export { LossConfigError } from './base.js';

/** Every implementation (any order: the catalogue's order is the listing order). */
export const LOSS_IMPLEMENTATIONS: readonly LossImplementation[] = [
  ceLoss,
  focalLoss,
  gflLoss,
  biasLoss,
  zLoss,
  compsumLoss,
  gceLoss,
  ldrLoss,
  aldrLoss,
  anyLoss,
  msLoss,
  mwLoss,
  tcmLoss,
  prototripletLoss,
  rdpoLoss,
  worstgroupLoss,
  fairregLoss,
  groupdroLoss,
];

function bind(): LossDefinition[] {
  const byName = new Map<string, LossImplementation>();
  for (const impl of LOSS_IMPLEMENTATIONS) {
    if (byName.has(impl.name)) throw new Error(`loss ${impl.name}: implemented twice`);
    byName.set(impl.name, impl);
  }
  const definitions = LOSS_CATALOGUE.map((descriptor) => {
    const impl = byName.get(descriptor.name);
    if (!impl) throw new Error(`loss ${descriptor.name}: in the catalogue but not implemented in worker/losses`);
    return { ...descriptor, create: impl.create.bind(impl) };
  });
  const extra = [...byName.keys()].filter((name) => !LOSS_CATALOGUE.some((d) => d.name === name));
  if (extra.length > 0) throw new Error(`losses ${extra.join(', ')}: implemented but not in the catalogue`);
  return definitions;
}

const DEFINITIONS: readonly LossDefinition[] = bind();

export const LOSSES: ReadonlyMap<string, LossDefinition> = new Map(DEFINITIONS.map((d) => [d.name, d]));

export function lossNames(): string[] {
  return [...LOSSES.keys()];
}

/** The definition of a loss; an unknown name throws a `LossConfigError` listing the valid names. */
export function getLossDefinition(name: string): LossDefinition {
  return LOSSES.get(lossDescriptor(name).name)!;
}

export function listLosses(): LossDefinition[] {
  return [...DEFINITIONS];
}
