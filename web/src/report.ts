/** The static report's entry: the snapshot is embedded in the page (cli/report-html.ts). */
import { boot } from './main.js';
import { SnapshotSource } from './source.js';
import type { DashSnapshot } from '../../shared/dashboard.js';

const snapshot = JSON.parse(document.getElementById('trellis-snapshot')!.textContent!) as DashSnapshot;
boot(new SnapshotSource(snapshot), snapshot.root);
