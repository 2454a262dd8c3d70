/** The served dashboard's entry: pages read the coordinator's HTTP API and follow its events. */
import { boot } from './main.js';
import { ApiSource } from './source.js';

boot(new ApiSource());
