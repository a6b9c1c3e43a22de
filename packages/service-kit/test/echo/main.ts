import { runService } from '../../src';
import { ECHO_SERVICE_NAME, loadEchoConfig, startEchoService } from './echo-service';

runService({ name: ECHO_SERVICE_NAME, loadConfig: () => loadEchoConfig(), start: startEchoService });
