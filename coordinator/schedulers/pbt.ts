/**
 * Population Based Training (Ray Tune's PopulationBasedTraining, synchronous-free variant).
 *
 * Each trial is checked when it reports a step at least `interval` (default 5) steps after its
 * last check. The population is every trial's latest reported value (running or finished).
 * With q = ceil(population · `quantile`) (default 0.25, at most half the population), a trial
 * among the q worst is told to `exploit`: restart from the checkpoint of one of the q best
 * (picked at random) with that trial's params explored:
 * - numeric params: with probability `resample` (default 0.25) drawn afresh from the domain,
 *   else multiplied by one of the `perturb` factors (default [0.8, 1.2], picked at random),
 *   clipped to the domain's bounds, ints rounded;
 * - choice params: with probability `resample` drawn afresh, else moved to a neighbouring value
 *   (one index up or down, clamped at the ends);
 * - conditional params follow their parents: dropped when their condition no longer holds,
 *   drawn afresh when it starts to hold; params outside the space are copied unchanged.
 * Randomness is keyed by (seed, trial, step), so decisions are reproducible.
 */
import type { Domain, ParamValue, Params, Space } from '../../shared/spec/space.js';
import { conditionHolds } from '../../shared/spec/space.js';
import { InvalidArgumentError } from '../../shared/errors.js';
import { choiceIndex, clamp, fromUnit, paramOrder } from '../search/domains.js';
import type { RandomGenerator } from '../search/rng.js';
import { below, rngFor, uniform } from '../search/rng.js';
import { parseSettings, setting } from '../search/settings.js';
import type { Scheduler, SchedulerDecision, SchedulerOptions, SchedulerTrial } from './base.js';
import { SCHEDULER_STRUCTURAL_KEYS } from './base.js';
import { CONTINUE, DecisionLog, fmt } from './decisions.js';

export interface PbtSettings {
  interval: number;
  quantile: number;
  perturb: [number, number];
  resample: number;
}

interface Member {
  number: number;
  params: Params;
  latest?: number;
  lastCheck: number;
}

/** Explores `params` within `space` (see the module comment). */
export function explore(space: Space, params: Params, settings: PbtSettings, rng: RandomGenerator): Params {
  const out: Params = {};
  const order = paramOrder(space);
  for (const [name, value] of Object.entries(params)) if (!(name in space)) out[name] = value;
  for (const name of order) {
    const domain = space[name]!;
    if (!conditionHolds(domain, out)) continue;
    out[name] = exploreOne(domain, params[name], settings, rng);
  }
  return out;
}

function exploreOne(
  domain: Domain,
  value: ParamValue | undefined,
  settings: PbtSettings,
  rng: RandomGenerator,
): ParamValue {
  const resample = uniform(rng) < settings.resample;
  if (domain.kind === 'choice') {
    const index = value === undefined ? -1 : choiceIndex(domain, value);
    if (resample || index < 0) return domain.values[below(rng, domain.values.length)]!;
    const step = below(rng, 2) === 0 ? -1 : 1;
    return domain.values[clamp(index + step, 0, domain.values.length - 1)]!;
  }
  if (resample || typeof value !== 'number' || !Number.isFinite(value)) return fromUnit(domain, uniform(rng));
  const factor = settings.perturb[below(rng, 2)]!;
  const moved = clamp(value * factor, domain.low, domain.high);
  return domain.kind === 'int' ? clamp(Math.round(moved), domain.low, domain.high) : moved;
}

export class PbtScheduler implements Scheduler {
  readonly name = 'pbt';
  readonly settings: PbtSettings;
  private readonly space: Space;
  private readonly seed: number;
  private readonly members = new Map<number, Member>();
  private readonly log = new DecisionLog();

  constructor(options: SchedulerOptions) {
    this.settings = parseSettings(
      'scheduler',
      {
        interval: setting.integer(5, { min: 1 }),
        quantile: setting.number(0.25, { min: 0, minExclusive: true, max: 0.5 }),
        perturb: setting.positivePair([0.8, 1.2]),
        resample: setting.number(0.25, { min: 0, max: 1 }),
      },
      options.settings,
      SCHEDULER_STRUCTURAL_KEYS,
    );
    if (!options.space) throw new InvalidArgumentError(['scheduler.type: pbt needs the search space (search.space)']);
    paramOrder(options.space);
    this.space = options.space;
    this.seed = options.seed;
  }

  private member(trial: SchedulerTrial): Member {
    let member = this.members.get(trial.number);
    if (!member) {
      member = { number: trial.number, params: trial.params, lastCheck: 0 };
      this.members.set(trial.number, member);
    }
    return member;
  }

  onTrialAdd(trial: SchedulerTrial): void {
    this.member(trial).params = trial.params;
  }

  onResult(trial: SchedulerTrial, step: number, value: number): SchedulerDecision {
    return this.log.decide(trial.number, step, () => {
      const member = this.member(trial);
      member.params = trial.params;
      member.latest = value;
      if (step - member.lastCheck < this.settings.interval) return CONTINUE;
      const population = [...this.members.values()]
        .filter((m): m is Member & { latest: number } => m.latest !== undefined)
        .sort((a, b) => a.latest - b.latest || b.number - a.number);
      if (population.length < 2) return CONTINUE;
      member.lastCheck = step;
      let q = Math.ceil(population.length * this.settings.quantile);
      if (q > population.length / 2) q = Math.floor(population.length / 2);
      const bottom = population.slice(0, q);
      if (!bottom.some((m) => m.number === trial.number)) return CONTINUE;
      const top = population.slice(population.length - q);
      const rng = rngFor(this.seed, 'pbt', trial.number, step);
      const donor = top[below(rng, top.length)]!;
      const params = explore(this.space, donor.params, this.settings, rng);
      member.params = params;
      return {
        action: 'exploit',
        checkpointOf: donor.number,
        params,
        reason: `pbt: ${fmt(value)} at step ${step} is in the bottom ${q} of ${population.length}; exploit trial ${donor.number} (${fmt(donor.latest)})`,
      };
    });
  }

  onTrialComplete(trial: SchedulerTrial, value: number | undefined): void {
    const member = this.member(trial);
    if (value !== undefined && Number.isFinite(value)) member.latest = value;
  }
}

export function createPbt(options: SchedulerOptions): Scheduler {
  return new PbtScheduler(options);
}
