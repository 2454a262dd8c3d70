import { LossConfigError, type LossDefinition } from './base.js';

export { LossConfigError } from './base.js';
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

/** Every built-in loss, in the order `listLosses` shows them. */
const DEFINITIONS: readonly LossDefinition[] = [
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

export const LOSSES: ReadonlyMap<string, LossDefinition> = new Map(DEFINITIONS.map((d) => [d.name, d]));

export function lossNames(): string[] {
  return [...LOSSES.keys()];
}

/** The definition of a loss; an unknown name throws a `LossConfigError` listing the valid names. */
export function getLossDefinition(name: string): LossDefinition {
  const def = LOSSES.get(name);
  if (!def) throw new LossConfigError(`unknown loss '${name}'; valid losses: ${lossNames().join(', ')}`);
  return def;
}

export function listLosses(): LossDefinition[] {
  return [...DEFINITIONS];
}
